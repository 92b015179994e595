//! Block-sync wire format: a length-prefixed borsh encoding with hard size limits, used by the
//! request-response protocol `/netwright/sync/1`.
//!
//! Frame: 4-byte big-endian length, then that many bytes of borsh. A frame whose announced length
//! exceeds the limit is refused before any of its body is read.

use std::io;

use borsh::{BorshDeserialize, BorshSerialize};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// Protocol name of block sync.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/netwright/sync/1");
/// Largest encoded request accepted (a request is two integers).
pub const MAX_REQUEST_BYTES: usize = 64;

/// Asks a peer for the blocks `from..=to` with their commit certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SyncRequest {
    /// First height wanted.
    pub from: u64,
    /// Last height wanted (inclusive).
    pub to: u64,
}

impl SyncRequest {
    /// Number of heights asked for (0 for an inverted range).
    pub fn len(&self) -> u64 {
        if self.to < self.from {
            0
        } else {
            self.to - self.from + 1
        }
    }

    /// Whether the range is empty (inverted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One block as served by sync: opaque to this layer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SyncedBlock {
    /// Height of the block.
    pub height: u64,
    /// The encoded block.
    pub block: Vec<u8>,
    /// The encoded commit certificate.
    pub cert: Vec<u8>,
}

/// Answer to a [`SyncRequest`]: consecutive blocks starting at `from`, possibly fewer than asked
/// (the server stops at its tip or at its size budget); empty if it has none of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SyncResponse {
    /// The blocks, in height order.
    pub blocks: Vec<SyncedBlock>,
}

impl SyncResponse {
    /// Checks that the response fits the request: heights consecutive from `request.from`,
    /// none beyond `request.to`.
    pub fn matches(&self, request: &SyncRequest) -> Result<(), String> {
        for (i, b) in self.blocks.iter().enumerate() {
            let expected = request.from.checked_add(i as u64);
            if Some(b.height) != expected || b.height > request.to {
                return Err(format!(
                    "block {i} has height {} but the request was {}..={}",
                    b.height, request.from, request.to
                ));
            }
        }
        Ok(())
    }
}

/// The request-response codec with the configured response limit.
#[derive(Clone, Debug)]
pub struct SyncCodec {
    /// Largest encoded response accepted or sent.
    pub max_response_bytes: usize,
}

async fn read_frame<T: AsyncRead + Unpin>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> io::Result<()> {
    if bytes.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame of {} bytes exceeds the limit of {max} bytes",
                bytes.len()
            ),
        ));
    }
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn decode<T: BorshDeserialize>(bytes: &[u8]) -> io::Result<T> {
    borsh::from_slice(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn encode<T: BorshSerialize>(value: &T) -> io::Result<Vec<u8>> {
    borsh::to_vec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io, MAX_REQUEST_BYTES).await?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io, self.max_response_bytes).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&req)?, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode(&res)?, self.max_response_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use libp2p::request_response::Codec;

    #[test]
    fn response_round_trips() {
        let mut codec = SyncCodec {
            max_response_bytes: 1024,
        };
        let res = SyncResponse {
            blocks: vec![SyncedBlock {
                height: 3,
                block: vec![1, 2],
                cert: vec![3],
            }],
        };
        let mut buf = Vec::new();
        block_on(codec.write_response(
            &SYNC_PROTOCOL,
            &mut futures::io::Cursor::new(&mut buf),
            res.clone(),
        ))
        .unwrap();
        let back =
            block_on(codec.read_response(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(buf)))
                .unwrap();
        assert_eq!(back, res);
    }

    #[test]
    fn oversized_frame_is_refused_before_reading_body() {
        let mut codec = SyncCodec {
            max_response_bytes: 16,
        };
        let mut frame = 17u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0u8; 17]);
        let err =
            block_on(codec.read_response(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(frame)))
                .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let big = SyncResponse {
            blocks: vec![SyncedBlock {
                height: 1,
                block: vec![0; 64],
                cert: vec![],
            }],
        };
        let err = block_on(codec.write_response(
            &SYNC_PROTOCOL,
            &mut futures::io::Cursor::new(Vec::new()),
            big,
        ))
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn response_must_match_request() {
        let req = SyncRequest { from: 5, to: 6 };
        let block = |h| SyncedBlock {
            height: h,
            block: vec![],
            cert: vec![],
        };
        assert!(SyncResponse {
            blocks: vec![block(5), block(6)]
        }
        .matches(&req)
        .is_ok());
        assert!(SyncResponse { blocks: vec![] }.matches(&req).is_ok());
        assert!(SyncResponse {
            blocks: vec![block(6)]
        }
        .matches(&req)
        .is_err());
        assert!(SyncResponse {
            blocks: vec![block(5), block(6), block(7)]
        }
        .matches(&req)
        .is_err());
        assert_eq!(SyncRequest { from: 3, to: 2 }.len(), 0);
    }
}
