//! Environment overrides for a settings struct, through its serde representation, so a new
//! setting is overridable with no line here: serde lists the struct's keys, a variable's text is
//! read by the key's own `Deserialize` (a number, `true`/`false`, a comma-separated list, text, or
//! nothing when an optional key is given empty), and the value is put in place through the TOML
//! representation.

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserializer, Serialize};

/// The variable that overrides `key`: `KEEPABLE_` and the key in upper case.
pub(super) fn variable(key: &str) -> String {
    format!("KEEPABLE_{}", key.to_uppercase())
}

/// The keys of the struct `T`: the field names its derived `Deserialize` hands to serde.
pub(super) fn keys<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    // It stops with an error as soon as it has the names; only they are wanted.
    let _ = T::deserialize(FieldNames(&mut keys));
    keys
}

/// Sets `key` of `settings` to the value `text` stands for.
pub(super) fn set<T: Serialize + DeserializeOwned>(
    settings: &mut T,
    key: &str,
    text: &str,
) -> anyhow::Result<()> {
    // `T` with only `key` given (its other keys as their defaults), read by `T`'s own Deserialize.
    let alone =
        T::deserialize(MapDeserializer::<_, Error>::new(std::iter::once((key, Text(text)))))?;
    let mut table = toml::Table::try_from(&*settings)?;
    match toml::Table::try_from(&alone)?.remove(key) {
        Some(value) => table.insert(key.to_string(), value),
        // An optional key without a value has no TOML representation.
        None => table.remove(key),
    };
    *settings = toml::Value::Table(table).try_into()?;
    Ok(())
}

/// A deserializer that only records the field names a struct asks for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("settings must be a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        *self.0 = fields;
        Err(de::Error::custom("only the field names were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// The text of one environment variable, read as whatever type its key has.
struct Text<'a>(&'a str);

impl<'de> IntoDeserializer<'de, Error> for Text<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Reads numbers of every width through the widest one; the visitor checks the range.
macro_rules! numbers {
    ($($method:ident => $wide:ty, $visit:ident, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let number: $wide = self.0.trim().parse().map_err(|_| de::Error::custom(format!("'{}' is not {}", self.0, $what)))?;
            visitor.$visit(number)
        }
    )*};
}

impl<'de> Deserializer<'de> for Text<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.trim().is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// A comma-separated list; blank items are left out.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut items = SeqDeserializer::new(
            self.0.split(',').map(str::trim).filter(|item| !item.is_empty()).map(Text),
        );
        let list = visitor.visit_seq(&mut items)?;
        items.end()?;
        Ok(list)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.trim() {
            "true" | "1" => visitor.visit_bool(true),
            "false" | "0" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!("'{other}' is not true or false"))),
        }
    }

    numbers! {
        deserialize_i8 => i64, visit_i64, "a whole number";
        deserialize_i16 => i64, visit_i64, "a whole number";
        deserialize_i32 => i64, visit_i64, "a whole number";
        deserialize_i64 => i64, visit_i64, "a whole number";
        deserialize_u8 => u64, visit_u64, "a whole number";
        deserialize_u16 => u64, visit_u64, "a whole number";
        deserialize_u32 => u64, visit_u64, "a whole number";
        deserialize_u64 => u64, visit_u64, "a whole number";
        deserialize_f32 => f64, visit_f64, "a number";
        deserialize_f64 => f64, visit_f64, "a number";
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct newtype_struct tuple tuple_struct
        map struct enum identifier ignored_any
    }
}
