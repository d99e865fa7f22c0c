//! Pure rules: no I/O, no database, no platform types.
//!
//! The answer engines (calendar, capacity, comparables and their backtest, library) and the workflow rules live
//! here and are tested on their own: who may approve and when requests remind, escalate and
//! expire (`approval`), the deal, hold and handover lifecycles (`deal`, `hold`, `handover`),
//! scoping tickets (`ticket`), what a button on an answer commits and who may press it
//! (`offer`), and what a valid effort, price, date or reason is (`input`).

/// An enum stored and shown as text: `as_str`, `parse`, `FromStr` and `Display` from one table,
/// so the database, the JSON contract and the templates spell a state the same way.
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::domain::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text).ok_or_else(|| crate::domain::UnknownValue {
                    what: stringify!($name),
                    value: text.to_string(),
                })
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

pub mod approval;
pub mod backtest;
pub mod calendar;
pub mod capacity;
pub mod comparables;
pub mod deal;
pub mod digest;
pub mod firm;
pub mod handover;
pub mod hold;
pub mod hours;
pub mod input;
pub mod library;
pub mod membership;
pub mod offer;
pub mod radar;
pub mod ticket;
pub mod track_record;

/// A stored or typed value that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {what}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}
