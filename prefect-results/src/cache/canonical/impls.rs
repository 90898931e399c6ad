//! The `serde::Serializer` plumbing of the canonical encoder.

use serde::Serialize;
use serde::ser::{self, Serializer};

use super::{
    BYTES, END, EncodeError, Encoder, FALSE, Map, NON_NEGATIVE, NULL, Seq, TRUE, encode, sort_entries,
    write_bytes, write_float, write_int, write_str, write_varint,
};

type Res = Result<(), EncodeError>;

macro_rules! ints {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Res {
            write_int(self.out, i128::from(v));
            Ok(())
        }
    )*};
}

impl<'a> Serializer for Encoder<'a> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = Map<'a>;

    ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
          serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
          serialize_u64: u64);

    fn serialize_u128(self, v: u128) -> Res {
        self.out.push(NON_NEGATIVE);
        write_varint(self.out, v);
        Ok(())
    }

    fn serialize_bool(self, v: bool) -> Res {
        self.out.push(if v { TRUE } else { FALSE });
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Res {
        write_float(self.out, f64::from(v));
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Res {
        write_float(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Res {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Res {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.out.push(BYTES);
        write_bytes(self.out, v);
        Ok(())
    }

    fn serialize_none(self) -> Res {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Res {
        self.out.push(NULL);
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Res {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Res {
        let out = self.open_variant(variant);
        encode(value, out)?;
        out.push(END);
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, EncodeError> {
        Ok(self.seq(false))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Seq<'a>, EncodeError> {
        Ok(self.seq(false))
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Seq<'a>, EncodeError> {
        Ok(self.seq(false))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Seq<'a>, EncodeError> {
        Ok(Encoder { out: self.open_variant(variant) }.seq(true))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'a>, EncodeError> {
        Ok(self.map(false))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'a>, EncodeError> {
        Ok(self.map(false))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Map<'a>, EncodeError> {
        Ok(Encoder { out: self.open_variant(variant) }.map(true))
    }
}

impl Seq<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        encode(value, self.out)
    }

    fn close(self) -> Res {
        self.out.push(END);
        if self.variant {
            self.out.push(END);
        }
        Ok(())
    }
}

macro_rules! seq_impls {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Seq<'_> {
            type Ok = ();
            type Error = EncodeError;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
                self.element(value)
            }

            fn end(self) -> Res {
                self.close()
            }
        }
    )*};
}

seq_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl Map<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Res {
        let from = self.out.len();
        write_str(self.out, key);
        encode(value, self.out)?;
        self.entries.push((from - self.start, self.out.len() - self.start));
        Ok(())
    }

    fn close(mut self) -> Res {
        sort_entries(self.out, self.start, &mut self.entries);
        if self.variant {
            self.out.push(END);
        }
        Ok(())
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        self.entry_start = self.out.len();
        encode(key, self.out)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        encode(value, self.out)?;
        let entry = (self.entry_start - self.start, self.out.len() - self.start);
        self.entries.push(entry);
        Ok(())
    }

    fn end(self) -> Res {
        self.close()
    }
}

macro_rules! struct_impls {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Map<'_> {
            type Ok = ();
            type Error = EncodeError;

            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
                self.field(key, value)
            }

            fn end(self) -> Res {
                self.close()
            }
        }
    )*};
}

struct_impls!(SerializeStruct, SerializeStructVariant);
