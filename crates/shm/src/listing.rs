//! Every field of the decoded pages as an indented text listing: the text form of
//! `pitwall shm dump`.
//!
//! [`to_text`] takes any value that serializes as the decoded [`Pages`](crate::Pages) do, a
//! struct of sections that are each a struct of fields, and writes each section's name, then
//! one line per field, `name   value`, in the structs' order (the spec's). Unlike a detour
//! through JSON it shows what a page really holds:
//!
//! - floats in their shortest form that reads back the same (`0.1`), with NaN, `inf`, `-inf`
//!   and `-0.0` as such, where JSON would write `null`, the same as for an absent field;
//! - enum codes that name no value with their number, `{unknown: 9}`;
//! - strings quoted, with `"`, `\` and control characters escaped, since a mod or a player
//!   decides what they hold.
//!
//! ```
//! let mut snapshot = shm::Snapshot::default();
//! snapshot.physics.speed_kmh = f32::NAN;
//! let text = shm::listing::to_text(&snapshot.decode())?;
//! assert!(text.starts_with("physics:\n"));
//! assert!(text.lines().any(|l| l.starts_with("  speed_kmh") && l.ends_with(" NaN")));
//! # Ok::<(), shm::listing::ListingError>(())
//! ```

use std::fmt::Write as _;

use serde::ser;
use thiserror::Error;

/// Why a value has no listing: only for shapes the page views do not have (a tuple or struct
/// variant, a map key that is not a plain value), or a `Serialize` implementation's own error.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct ListingError(String);

impl ser::Error for ListingError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ListingError(msg.to_string())
    }
}

/// `value` as a listing: for each field of `value`, its name and a colon on a line, then one
/// line per field of that field, `  name   value`, the values aligned. Each line ends in `\n`.
/// A value that is not a struct or a map has no sections and lists as nothing.
pub fn to_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, ListingError> {
    Ok(listing(&to_node(value)?))
}

/// A value as an ordered tree, built straight from its structs by [`NodeSerializer`]: it keeps
/// the structs' field order (the spec's), and floats as they are — NaN and infinities included,
/// which a detour through JSON would turn into `null`, the same as an absent field.
#[derive(Debug)]
enum Node {
    /// A number, string, bool or null, already formatted.
    Leaf(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// The tree of `value`.
fn to_node<T: serde::Serialize + ?Sized>(value: &T) -> Result<Node, ListingError> {
    value.serialize(NodeSerializer)
}

/// A serde serializer whose output is a [`Node`].
struct NodeSerializer;

fn leaf(s: impl ToString) -> Result<Node, ListingError> {
    Ok(Node::Leaf(s.to_string()))
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = ListingError;
    type SerializeSeq = ListBuilder;
    type SerializeTuple = ListBuilder;
    type SerializeTupleStruct = ListBuilder;
    type SerializeTupleVariant = ser::Impossible<Node, ListingError>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = ser::Impossible<Node, ListingError>;

    fn serialize_bool(self, v: bool) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Node, ListingError> {
        leaf(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Node, ListingError> {
        // `{:?}` is the shortest form that reads back as the same f32 (`0.1`, not
        // `0.10000000149011612`), and writes `NaN`, `inf` and `-inf` as such.
        leaf(format!("{v:?}"))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, ListingError> {
        leaf(format!("{v:?}"))
    }
    fn serialize_char(self, v: char) -> Result<Node, ListingError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Node, ListingError> {
        // Quoted and escaped: the game's strings are whatever a mod or a player put there.
        leaf(text::quoted(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node, ListingError> {
        Ok(Node::List(v.iter().map(|b| Node::Leaf(b.to_string())).collect()))
    }
    fn serialize_none(self) -> Result<Node, ListingError> {
        leaf("null")
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Node, ListingError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, ListingError> {
        leaf("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, ListingError> {
        leaf("null")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node, ListingError> {
        // As JSON writes it: `"live"`.
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node, ListingError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, ListingError> {
        // As JSON writes it: `{unknown: 9}`.
        Ok(Node::Map(vec![(variant.to_owned(), to_node(value)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder, ListingError> {
        Ok(ListBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<ListBuilder, ListingError> {
        Ok(ListBuilder(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<ListBuilder, ListingError> {
        Ok(ListBuilder(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ListingError> {
        Err(ListingError(format!("{name}::{variant}: tuple variants are not listed")))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, ListingError> {
        Ok(MapBuilder { entries: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, ListingError> {
        Ok(MapBuilder { entries: Vec::with_capacity(len), key: None })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ListingError> {
        Err(ListingError(format!("{name}::{variant}: struct variants are not listed")))
    }
}

/// The items of a list (a sequence or a tuple, such as `[f32; 4]`).
struct ListBuilder(Vec<Node>);

impl ser::SerializeSeq for ListBuilder {
    type Ok = Node;
    type Error = ListingError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ListingError> {
        self.0.push(to_node(value)?);
        Ok(())
    }
    fn end(self) -> Result<Node, ListingError> {
        Ok(Node::List(self.0))
    }
}

impl ser::SerializeTuple for ListBuilder {
    type Ok = Node;
    type Error = ListingError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ListingError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, ListingError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for ListBuilder {
    type Ok = Node;
    type Error = ListingError;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ListingError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, ListingError> {
        ser::SerializeSeq::end(self)
    }
}

/// The entries of a map or the fields of a struct, in order.
struct MapBuilder {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = ListingError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ListingError> {
        self.key = Some(match to_node(key)? {
            Node::Leaf(text) => text,
            _ => return Err(ListingError("a map key that is not a plain value".to_owned())),
        });
        Ok(())
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ListingError> {
        let key = self.key.take().ok_or_else(|| ListingError("a map value without a key".to_owned()))?;
        self.entries.push((key, to_node(value)?));
        Ok(())
    }
    fn end(self) -> Result<Node, ListingError> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = ListingError;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), ListingError> {
        self.entries.push((name.to_owned(), to_node(value)?));
        Ok(())
    }
    fn end(self) -> Result<Node, ListingError> {
        Ok(Node::Map(self.entries))
    }
}

/// One line per field, grouped by section: `name   value`.
fn listing(tree: &Node) -> String {
    let mut out = String::new();
    let Node::Map(pages) = tree else { return out };
    for (page, fields) in pages {
        let _ = writeln!(out, "{page}:");
        let Node::Map(fields) = fields else { continue };
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in fields {
            let _ = writeln!(out, "  {name:<width$}  {}", inline(value));
        }
    }
    out
}

/// A value on one line: `[1.0, 2.0]`, `{unknown: 9}`.
fn inline(node: &Node) -> String {
    match node {
        Node::Leaf(s) => s.clone(),
        Node::List(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Node::Map(entries) => {
            let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {}", inline(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Snapshot;

    #[test]
    fn the_listing_keeps_the_spec_order_and_shortest_floats() {
        let mut snapshot = Snapshot::default();
        snapshot.physics.packet_id = 7;
        snapshot.physics.gas = 0.1;
        snapshot.static_page.set_track_configuration("Südschleife");
        let text = to_text(&snapshot.decode()).unwrap();
        let packet = text.find("packet_id").unwrap();
        let gas = text.find("gas").unwrap();
        assert!(packet < gas, "struct order, not alphabetical");
        assert!(text.contains("  gas "), "{text}");
        assert!(text.lines().any(|l| l.starts_with("  gas") && l.ends_with(" 0.1")), "{text}");
        assert!(text.contains("\"Südschleife\""));
        assert!(text.contains("[0.0, 0.0, 0.0]"));
        assert!(text.starts_with("physics:\n"));
        assert!(text.contains("\nstatic:\n"));
        assert!(text.contains("  tyre_temp") && text.contains("null"), "absent tail fields are null");
    }

    /// NaN and infinities are listed as such, not as the `null` of an absent field; codes that
    /// name no enum value are listed with their number.
    #[test]
    fn the_listing_shows_non_finite_floats_and_unknown_codes() {
        let mut snapshot = Snapshot::default();
        snapshot.physics.speed_kmh = f32::NAN;
        snapshot.physics.velocity = [f32::INFINITY, f32::NEG_INFINITY, -0.0];
        snapshot.graphics.status = 9;
        let text = to_text(&snapshot.decode()).unwrap();
        assert!(text.lines().any(|l| l.starts_with("  speed_kmh") && l.ends_with(" NaN")), "{text}");
        assert!(text.contains("[inf, -inf, -0.0]"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("  status") && l.ends_with(" {unknown: 9}")), "{text}");
    }

    /// Strings are quoted so that their end is plain, and no control character reaches a
    /// terminal; the escapes are Rust's own `{:?}` for what both escape.
    #[test]
    fn strings_are_quoted_and_escaped() {
        let mut snapshot = Snapshot::default();
        snapshot.static_page.set_track("a\u{1b}[2J\u{9b}b");
        let text = to_text(&snapshot.decode()).unwrap();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("\"a\\u{1b}[2J\\u{9b}b\""), "{text}");
    }

    #[test]
    fn what_is_not_a_struct_lists_as_nothing() {
        assert_eq!(to_text(&[1, 2]).unwrap(), "");
        assert_eq!(to_text(&7).unwrap(), "");
    }
}
