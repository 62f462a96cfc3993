//! A thread for the few requests that would stall the event loop: logins (password
//! hashing is slow on purpose) and session writes that must wait for a commit.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use ember_engine::Engine;
use mio::Waker;

use super::http::Response;
use super::who::Who;

/// A job: runs on the worker with the engine, answers an HTTP request.
pub type Job = Box<dyn FnOnce(&Engine) -> Response + Send>;

/// The loop's handle to the worker.
pub struct Worker {
    jobs: Option<Sender<(Who, Job)>>,
    /// Answers: (connection, response).
    pub done: Receiver<(Who, Response)>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread.
    pub fn start(engine: Engine, waker: Arc<Waker>) -> std::io::Result<Worker> {
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded::<(Who, Job)>();
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("ember-worker".into())
            .spawn(move || {
                for (conn, job) in jobs_rx {
                    let response = job(&engine);
                    if done_tx.send((conn, response)).is_err() {
                        return;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Worker {
            jobs: Some(jobs_tx),
            done: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues a job answering this connection.
    pub fn submit(&self, conn: Who, job: Job) {
        if let Some(j) = &self.jobs {
            let _ = j.send((conn, job));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
