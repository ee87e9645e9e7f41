//! etcd's v3 API over gRPC, as etcdctl asks it, for the questions rigger used to put to
//! etcd's JSON gateway. The gateway cannot carry a client certificate's name: once a
//! cluster's auth is on, etcd refuses every gateway request whose certificate has a
//! common name ("CommonName of client sending a request against gateway will be ignored
//! and not used as expected"), while gRPC takes the user from it. A question is still
//! given and answered as the gateway's JSON (`etcd_pb` reads and writes both), so that
//! what reads the answers reads them as before.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::etcd_client::{Credentials, cause};
use super::etcd_pb as pb;

/// Why a call has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The member could not be reached, or did not answer in time.
    Unreachable(String),
    /// etcd refused, with a gRPC status code and its message.
    Refused { code: u32, message: String },
    /// The answer was not gRPC, or not the message it should be.
    Garbled(String),
}

impl CallError {
    pub fn why(&self) -> String {
        match self {
            Self::Unreachable(why) | Self::Garbled(why) => why.clone(),
            Self::Refused { message, .. } => message.clone(),
        }
    }
}

/// gRPC's NotFound (etcd's "member not found").
pub const NOT_FOUND: u32 = 5;

/// A client for one question: gRPC to the member `host` at `addr`, with the client
/// certificate of `creds`, 5 s for the whole answer.
pub fn client(
    creds: Option<&Credentials>,
    host: &str,
    addr: SocketAddr,
) -> Result<reqwest::Client, String> {
    builder(creds, host, addr)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

/// What every gRPC client of a member is: HTTP/2 from the first byte, the member's name
/// resolved to `addr` as the zone says (never by the system, never through a proxy),
/// presenting `creds`.
pub fn builder(
    creds: Option<&Credentials>,
    host: &str,
    addr: SocketAddr,
) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder();
    if let Some(c) = creds {
        builder = c.apply(builder);
    }
    builder
        .resolve(host, addr)
        .no_proxy()
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(3))
}

/// Asks the member at `base` (its client URL) the question the gateway takes at `path`
/// (`/v3/cluster/member/list` ...) with `body`; the answer as the gateway writes it.
/// `within` waits longer than the client's few seconds, for a call that works that long.
pub async fn call(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
    within: Option<Duration>,
) -> Result<Value, CallError> {
    use pb::*;
    let at = (client, base, body, within);
    match path {
        "/v3/cluster/member/list" => {
            typed::<MemberListRequest, MemberListResponse>(at, "Cluster/MemberList").await
        }
        "/v3/cluster/member/add" => {
            typed::<MemberAddRequest, MemberAddResponse>(at, "Cluster/MemberAdd").await
        }
        "/v3/cluster/member/remove" => {
            typed::<MemberIdRequest, MembersResponse>(at, "Cluster/MemberRemove").await
        }
        "/v3/cluster/member/promote" => {
            typed::<MemberIdRequest, MembersResponse>(at, "Cluster/MemberPromote").await
        }
        "/v3/maintenance/status" => typed::<Empty, StatusResponse>(at, "Maintenance/Status").await,
        "/v3/maintenance/alarm" => {
            typed::<AlarmRequest, AlarmResponse>(at, "Maintenance/Alarm").await
        }
        "/v3/maintenance/defragment" => {
            typed::<Empty, HeaderOnly>(at, "Maintenance/Defragment").await
        }
        "/v3/maintenance/transfer-leadership" => {
            typed::<MoveLeaderRequest, HeaderOnly>(at, "Maintenance/MoveLeader").await
        }
        "/v3/kv/compaction" => typed::<CompactionRequest, HeaderOnly>(at, "KV/Compact").await,
        "/v3/kv/range" => typed::<RangeRequest, RangeResponse>(at, "KV/Range").await,
        "/v3/auth/status" => typed::<Empty, AuthStatusResponse>(at, "Auth/AuthStatus").await,
        "/v3/auth/enable" => typed::<Empty, HeaderOnly>(at, "Auth/AuthEnable").await,
        "/v3/auth/user/add" => typed::<AuthUserAddRequest, HeaderOnly>(at, "Auth/UserAdd").await,
        "/v3/auth/user/get" => typed::<NameRequest, AuthUserGetResponse>(at, "Auth/UserGet").await,
        "/v3/auth/user/grant" => {
            typed::<AuthUserGrantRoleRequest, HeaderOnly>(at, "Auth/UserGrantRole").await
        }
        "/v3/auth/user/delete" => typed::<NameRequest, HeaderOnly>(at, "Auth/UserDelete").await,
        "/v3/auth/role/add" => typed::<NameRequest, HeaderOnly>(at, "Auth/RoleAdd").await,
        "/v3/auth/role/grant" => {
            typed::<AuthRoleGrantPermissionRequest, HeaderOnly>(at, "Auth/RoleGrantPermission")
                .await
        }
        "/v3/auth/role/delete" => {
            typed::<AuthRoleDeleteRequest, HeaderOnly>(at, "Auth/RoleDelete").await
        }
        other => Err(CallError::Garbled(format!(
            "rigger has no gRPC call for {other}"
        ))),
    }
}

async fn typed<Req, Resp>(
    (client, base, body, within): (&reqwest::Client, &str, &Value, Option<Duration>),
    method: &str,
) -> Result<Value, CallError>
where
    Req: Message + DeserializeOwned,
    Resp: Message + Default + Serialize,
{
    let request: Req = serde_json::from_value(body.clone()).map_err(|e| {
        CallError::Garbled(format!(
            "the question {body} does not read as {method}: {e}"
        ))
    })?;
    let answer = unary(
        client,
        base,
        &format!("/etcdserverpb.{method}"),
        &request.encode_to_vec(),
        within,
    )
    .await?;
    let response = Resp::decode(answer.as_slice()).map_err(|e| {
        CallError::Garbled(format!(
            "{base} answered {method} with what does not decode: {e}"
        ))
    })?;
    serde_json::to_value(&response).map_err(|e| CallError::Garbled(e.to_string()))
}

/// One unary gRPC call: the request framed (uncompressed, its length big-endian), the
/// answer's one message unframed; a refusal is its `grpc-status` and `grpc-message`.
async fn unary(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    message: &[u8],
    within: Option<Duration>,
) -> Result<Vec<u8>, CallError> {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend((message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    let mut request = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(framed);
    if let Some(within) = within {
        request = request.timeout(within);
    }
    let resp = request
        .send()
        .await
        .map_err(|e| CallError::Unreachable(cause(&e)))?;
    let http_status = resp.status();
    // The status comes in the headers when etcd refuses at once ("trailers only"), in
    // the trailers after the message otherwise: both are read.
    let (parts, mut body) = http::Response::<reqwest::Body>::from(resp).into_parts();
    let mut data = Vec::new();
    let mut trailers = http::HeaderMap::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| CallError::Unreachable(cause(&e)))?;
        match frame.into_data() {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers.extend(t);
                }
            }
        }
    }
    let field = |k: &str| {
        parts
            .headers
            .get(k)
            .or_else(|| trailers.get(k))
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    if let Some(code) = field("grpc-status").filter(|s| s != "0") {
        return Err(CallError::Refused {
            code: code.parse().unwrap_or(2),
            message: percent_decoded(&field("grpc-message").unwrap_or_default()),
        });
    }
    if !http_status.is_success() {
        return Err(CallError::Garbled(format!(
            "{base} answered HTTP {http_status}"
        )));
    }
    if data.len() < 5 {
        return Err(CallError::Garbled(format!(
            "{base} answered {path} with no message"
        )));
    }
    if data[0] != 0 {
        return Err(CallError::Garbled(
            "a compressed answer, which rigger did not ask for".into(),
        ));
    }
    let len = u32::from_be_bytes(data[1..5].try_into().expect("4 bytes")) as usize;
    data.get(5..5 + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| CallError::Garbled(format!("{base} answered {path} with half a message")))
}

/// `grpc-message` is percent-encoded where it is not printable ASCII.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_message_is_percent_decoded() {
        assert_eq!(
            percent_decoded("etcdserver: unhealthy cluster"),
            "etcdserver: unhealthy cluster"
        );
        assert_eq!(percent_decoded("a%20b%25c%zz"), "a b%c%zz");
    }
}
