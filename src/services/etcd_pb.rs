//! The few messages of etcd's v3 API (`etcdserverpb`) that rigger asks with, as protobuf
//! for gRPC (prost, each field numbered as etcd's `rpc.proto` numbers it) and as the JSON
//! etcd's gateway reads and writes (the proto's own field names, 64-bit integers as
//! strings, enums by name, bytes in base64), so that a question asked over gRPC reads as
//! one asked of the gateway.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 64-bit integer as the gateway writes it (a string) and as a body may give it (a
/// string or a number).
mod int64 {
    use super::*;

    pub fn serialize<S: Serializer, T: ToString>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr + TryFrom<u64>,
    {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::String(s) => s.parse::<T>().ok(),
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| T::try_from(n).ok()),
            _ => None,
        };
        parsed.ok_or_else(|| serde::de::Error::custom(format!("{v} is not a 64-bit integer")))
    }
}

/// Bytes as base64, as the gateway carries keys.
mod b64 {
    use super::*;
    use base64::Engine;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct ResponseHeader {
    #[prost(uint64, tag = "1")]
    #[serde(with = "int64", default)]
    pub cluster_id: u64,
    #[prost(uint64, tag = "2")]
    #[serde(with = "int64", default)]
    pub member_id: u64,
    #[prost(int64, tag = "3")]
    #[serde(with = "int64", default)]
    pub revision: i64,
    #[prost(uint64, tag = "4")]
    #[serde(with = "int64", default)]
    pub raft_term: u64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct Member {
    #[prost(uint64, tag = "1")]
    #[serde(rename = "ID", with = "int64", default)]
    pub id: u64,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub name: String,
    #[prost(string, repeated, tag = "3")]
    #[serde(rename = "peerURLs", default)]
    pub peer_urls: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    #[serde(rename = "clientURLs", default)]
    pub client_urls: Vec<String>,
    #[prost(bool, tag = "5")]
    #[serde(rename = "isLearner", default)]
    pub is_learner: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MemberListRequest {
    #[prost(bool, tag = "1")]
    #[serde(default)]
    pub linearizable: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MemberListResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(message, repeated, tag = "2")]
    #[serde(default)]
    pub members: Vec<Member>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MemberAddRequest {
    #[prost(string, repeated, tag = "1")]
    #[serde(rename = "peerURLs", default)]
    pub peer_urls: Vec<String>,
    #[prost(bool, tag = "2")]
    #[serde(rename = "isLearner", default)]
    pub is_learner: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MemberAddResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(message, optional, tag = "2")]
    pub member: Option<Member>,
    #[prost(message, repeated, tag = "3")]
    #[serde(default)]
    pub members: Vec<Member>,
}

/// `MemberRemoveRequest` and `MemberPromoteRequest`: the member's ID alone.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MemberIdRequest {
    #[prost(uint64, tag = "1")]
    #[serde(rename = "ID", with = "int64", default)]
    pub id: u64,
}

/// `MemberRemoveResponse` and `MemberPromoteResponse`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MembersResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(message, repeated, tag = "2")]
    #[serde(default)]
    pub members: Vec<Member>,
}

/// A request with no field: `StatusRequest`, `DefragmentRequest`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct Empty {}

/// A response with the header alone: `DefragmentResponse`, `MoveLeaderResponse`,
/// `CompactionResponse`.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct HeaderOnly {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct StatusResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub version: String,
    #[prost(int64, tag = "3")]
    #[serde(rename = "dbSize", with = "int64", default)]
    pub db_size: i64,
    #[prost(uint64, tag = "4")]
    #[serde(with = "int64", default)]
    pub leader: u64,
    #[prost(uint64, tag = "5")]
    #[serde(rename = "raftIndex", with = "int64", default)]
    pub raft_index: u64,
    #[prost(uint64, tag = "6")]
    #[serde(rename = "raftTerm", with = "int64", default)]
    pub raft_term: u64,
    #[prost(uint64, tag = "7")]
    #[serde(rename = "raftAppliedIndex", with = "int64", default)]
    pub raft_applied_index: u64,
    #[prost(string, repeated, tag = "8")]
    #[serde(default)]
    pub errors: Vec<String>,
    #[prost(int64, tag = "9")]
    #[serde(rename = "dbSizeInUse", with = "int64", default)]
    pub db_size_in_use: i64,
    #[prost(bool, tag = "10")]
    #[serde(rename = "isLearner", default)]
    pub is_learner: bool,
}

/// `AlarmType` by name, as the gateway says it.
const ALARMS: [&str; 3] = ["NONE", "NOSPACE", "CORRUPT"];
/// `AlarmRequest.AlarmAction` by name.
const ACTIONS: [&str; 3] = ["GET", "ACTIVATE", "DEACTIVATE"];

fn by_name<'de, D: Deserializer<'de>>(d: D, names: &[&str]) -> Result<i32, D::Error> {
    let name = String::deserialize(d)?;
    names
        .iter()
        .position(|n| *n == name)
        .map(|i| i as i32)
        .ok_or_else(|| serde::de::Error::custom(format!("{name} is none of {names:?}")))
}

fn alarm_name<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(ALARMS.get(*v as usize).copied().unwrap_or("NONE"))
}

fn alarm_of<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    by_name(d, &ALARMS)
}

fn action_name<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(ACTIONS.get(*v as usize).copied().unwrap_or("GET"))
}

fn action_of<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    by_name(d, &ACTIONS)
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AlarmRequest {
    #[prost(int32, tag = "1")]
    #[serde(
        serialize_with = "action_name",
        deserialize_with = "action_of",
        default
    )]
    pub action: i32,
    #[prost(uint64, tag = "2")]
    #[serde(rename = "memberID", with = "int64", default)]
    pub member_id: u64,
    #[prost(int32, tag = "3")]
    #[serde(serialize_with = "alarm_name", deserialize_with = "alarm_of", default)]
    pub alarm: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AlarmMember {
    #[prost(uint64, tag = "1")]
    #[serde(rename = "memberID", with = "int64", default)]
    pub member_id: u64,
    #[prost(int32, tag = "2")]
    #[serde(serialize_with = "alarm_name", deserialize_with = "alarm_of", default)]
    pub alarm: i32,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AlarmResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(message, repeated, tag = "2")]
    #[serde(default)]
    pub alarms: Vec<AlarmMember>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct MoveLeaderRequest {
    #[prost(uint64, tag = "1")]
    #[serde(rename = "targetID", with = "int64", default)]
    pub target_id: u64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct CompactionRequest {
    #[prost(int64, tag = "1")]
    #[serde(with = "int64", default)]
    pub revision: i64,
    #[prost(bool, tag = "2")]
    #[serde(default)]
    pub physical: bool,
}

/// The part of a `RangeRequest` rigger sends: a key, a limit, keys only.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct RangeRequest {
    #[prost(bytes = "vec", tag = "1")]
    #[serde(with = "b64", default)]
    pub key: Vec<u8>,
    #[prost(int64, tag = "3")]
    #[serde(with = "int64", default)]
    pub limit: i64,
    #[prost(bool, tag = "8")]
    #[serde(default)]
    pub keys_only: bool,
}

/// The part of a `RangeResponse` rigger reads: its header (the revision).
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct RangeResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(int64, tag = "4")]
    #[serde(with = "int64", default)]
    pub count: i64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthStatusResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(bool, tag = "2")]
    #[serde(default)]
    pub enabled: bool,
    #[prost(uint64, tag = "3")]
    #[serde(rename = "authRevision", with = "int64", default)]
    pub auth_revision: u64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct UserAddOptions {
    #[prost(bool, tag = "1")]
    #[serde(default)]
    pub no_password: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthUserAddRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub name: String,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub password: String,
    #[prost(message, optional, tag = "3")]
    #[serde(default)]
    pub options: Option<UserAddOptions>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthUserGrantRoleRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub user: String,
    #[prost(string, tag = "2")]
    #[serde(default)]
    pub role: String,
}

/// `AuthRoleAddRequest`, `AuthUserDeleteRequest`, `AuthUserGetRequest`: a name alone.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct NameRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthRoleDeleteRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub role: String,
}

/// `authpb.Permission.Type` by name.
const PERMS: [&str; 3] = ["READ", "WRITE", "READWRITE"];

fn perm_name<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(PERMS.get(*v as usize).copied().unwrap_or("READ"))
}

fn perm_of<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    by_name(d, &PERMS)
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct Permission {
    #[prost(int32, tag = "1")]
    #[serde(
        rename = "permType",
        serialize_with = "perm_name",
        deserialize_with = "perm_of",
        default
    )]
    pub perm_type: i32,
    #[prost(bytes = "vec", tag = "2")]
    #[serde(with = "b64", default)]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    #[serde(with = "b64", default)]
    pub range_end: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthRoleGrantPermissionRequest {
    #[prost(string, tag = "1")]
    #[serde(default)]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    #[serde(default)]
    pub perm: Option<Permission>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct AuthUserGetResponse {
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    #[prost(string, repeated, tag = "2")]
    #[serde(default)]
    pub roles: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_member_list_reads_as_the_gateway_writes_it() {
        let resp = MemberListResponse {
            header: Some(ResponseHeader {
                cluster_id: 7,
                member_id: 255,
                revision: 3,
                raft_term: 2,
            }),
            members: vec![Member {
                id: 0xa1,
                name: "n1".into(),
                peer_urls: vec!["https://n1.d.test:2380".into()],
                client_urls: vec![],
                is_learner: true,
            }],
        };
        let back = MemberListResponse::decode(resp.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, resp);
        let json = serde_json::to_value(&back).unwrap();
        assert_eq!(json["header"]["member_id"], "255");
        assert_eq!(json["members"][0]["ID"], "161");
        assert_eq!(json["members"][0]["peerURLs"][0], "https://n1.d.test:2380");
        assert_eq!(json["members"][0]["isLearner"], true);
    }

    #[test]
    fn requests_are_read_as_the_gateway_reads_them() {
        let alarm: AlarmRequest =
            serde_json::from_str(r#"{"action":"DEACTIVATE","memberID":"12","alarm":"NOSPACE"}"#)
                .unwrap();
        assert_eq!((alarm.action, alarm.member_id, alarm.alarm), (2, 12, 1));
        let range: RangeRequest =
            serde_json::from_str(r#"{"key":"AA==","limit":"1","keys_only":true}"#).unwrap();
        assert_eq!(
            (range.key, range.limit, range.keys_only),
            (vec![0], 1, true)
        );
        let id: MemberIdRequest = serde_json::from_str(r#"{"ID":"18446744073709551615"}"#).unwrap();
        assert_eq!(id.id, u64::MAX);
        let empty: Empty = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.encode_to_vec(), Vec::<u8>::new());
        let answer = AlarmResponse {
            header: None,
            alarms: vec![AlarmMember {
                member_id: 12,
                alarm: 1,
            }],
        };
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["alarms"][0]["alarm"], "NOSPACE");
        assert_eq!(json["alarms"][0]["memberID"], "12");
    }
}
