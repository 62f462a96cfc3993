"""A short tour of the Python wrapper: python3 examples/python/demo.py [db path]."""

import sys
import tempfile
import os

from ember import Engine, EmberError, version


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "demo.db")
    print(f"libember {version()}")
    with Engine.open(path, password_memory_kib=8, password_iterations=1) as engine:
        ann = engine.create_user("ann", "Ann", "correct horse", role="admin")
        bob = engine.create_user("bob", "Bob", "battery staple")
        room = engine.create_room(ann.id, "Garden", kind="closed", members=[bob.id])
        with engine.subscribe(bob.id, room.id) as sub:
            message, _ = engine.post(ann.id, room.id, "the roses are out")
            for event in sub.events(timeout_ms=200):
                if event.message:
                    print(f"{event.kind}: {event.message.content}")
        try:
            engine.post(bob.id, room.id, "x" * 20000)
        except EmberError as e:
            print(f"refused with {e.name}: {e.message}")
        for summary in engine.rooms_for(bob.id):
            print(f"{summary.room.name}: {summary.unread} unread")


if __name__ == "__main__":
    main()
