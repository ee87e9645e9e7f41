//! Values scripts give in option maps, read through serde and checked as they are read,
//! so a typed option struct needs no hand-written errors of its own.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// Seconds as a script writes them: an integer or a float, from 0 up to a year.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub Duration);

impl Seconds {
    /// The given seconds, else `default`.
    pub fn or(given: Option<Seconds>, default: f64) -> Duration {
        given.map_or_else(|| Duration::from_secs_f64(default), |s| s.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Number;
        impl Visitor<'_> for Number {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
        }
        let n = d.deserialize_any(Number)?;
        crate::base::human::seconds(n).map(Seconds).ok_or_else(|| {
            de::Error::custom(format!(
                "must be a number of seconds between 0 and a year, got {n}"
            ))
        })
    }
}

/// A DNS server to ask, as a script writes it: `"ip:port"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAddr(pub SocketAddr);

impl<'de> Deserialize<'de> for ServerAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map(ServerAddr)
            .map_err(|_| de::Error::custom(format!("server {text:?} is not ip:port")))
    }
}

/// The fields of a `#[derive(Deserialize)]` struct, as serde hands them to a deserializer:
/// the keys an option map of that type may have, said when one is misspelt.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

/// A deserializer that only takes note of the fields it is asked for.
struct Introspect<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields taken"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Two {
        timeout: Option<Seconds>,
        interval: Option<Seconds>,
    }

    #[test]
    fn a_structs_fields_are_read_from_its_deserialize() {
        assert_eq!(fields_of::<Two>(), ["timeout", "interval"]);
    }
}
