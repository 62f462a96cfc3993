//! Public identifiers: UUIDs wrapped so that a room id cannot be passed as a user id.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The 16 bytes of the UUID.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Builds the id from 16 bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::Borrowed(
                    rusqlite::types::ValueRef::Blob(self.0.as_bytes()),
                ))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let bytes = value.as_blob()?;
                let arr: [u8; 16] = bytes
                    .try_into()
                    .map_err(|_| rusqlite::types::FromSqlError::InvalidBlobSize {
                        expected_size: 16,
                        blob_size: bytes.len(),
                    })?;
                Ok(Self::from_bytes(arr))
            }
        }
    };
}

uuid_id!(
    /// A user (person or bot). UUID v7, chosen by the engine.
    UserId
);
uuid_id!(
    /// A room. UUID v7, chosen by the engine.
    RoomId
);
uuid_id!(
    /// A message. UUID v7, chosen by the engine; stable across edits and deletes.
    MessageId
);
uuid_id!(
    /// The client's own id for a post, the key of exactly-once posting. Any UUID works;
    /// time-ordered ones (v7) keep the dedup index append-friendly.
    ClientMessageId
);
uuid_id!(
    /// A random id given to a database when it is created. Sequence numbers (`seq`,
    /// `change_seq`) only mean something together with the epoch they came from.
    Epoch
);

impl ClientMessageId {
    /// A fresh time-ordered client id (UUID v7).
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }
}
