//! Where tower-sessions keeps sessions: PostgreSQL, through the store (`store::sessions`).
//!
//! Written here rather than taken from `tower-sessions-sqlx-store` because that crate turns on
//! sqlx's `time` feature, and with it every `sqlx::query!` in the workspace would read
//! `timestamptz` as `time::OffsetDateTime` instead of the `chrono` types Vigil uses throughout.
//! The table and the encoding (MessagePack of the whole record) are that crate's, so sessions
//! begun before the switch stay valid.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use vigil_core::store::{sessions, PgPool, StoreError};

#[derive(Clone, Debug)]
pub struct PgSessions {
    pool: PgPool,
}

impl PgSessions {
    pub fn new(pool: PgPool) -> Self {
        PgSessions { pool }
    }
}

fn backend(e: StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn encode(record: &Record) -> session_store::Result<(String, Vec<u8>, DateTime<Utc>)> {
    let data =
        rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let at = record.expiry_date;
    let expiry = DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .ok_or_else(|| session_store::Error::Encode(format!("expiry {at} is out of range")))?;
    Ok((record.id.to_string(), data, expiry))
}

#[async_trait]
impl SessionStore for PgSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id until one is free: a collision of 128 random bits is not expected, but a
        // session must never be written over another person's.
        loop {
            let (id, data, expiry) = encode(record)?;
            if sessions::create(&self.pool, &id, &data, expiry)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (id, data, expiry) = encode(record)?;
        sessions::save(&self.pool, &id, &data, expiry)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(data) = sessions::load(&self.pool, &id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        rmp_serde::from_slice(&data)
            .map(Some)
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.pool, &id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sessions::delete_expired(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }
}
