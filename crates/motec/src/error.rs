//! Errors of the MoTeC crate: one enum for the writer, the reader and the `.ldx` files. Reader
//! errors name the byte offset (and the channel) where the file went wrong.

use std::io;

/// Everything that can go wrong writing or reading `.ld` and `.ldx` files.
#[derive(Debug, thiserror::Error)]
pub enum MotecError {
    /// The output, the spill file or the input failed.
    #[error("i/o error while {what}: {source}")]
    Io {
        /// What was being done, e.g. "writing the .ld file".
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A channel definition cannot be written (rate 0, scale 0, …).
    #[error("channel {index} ({name:?}): {problem}")]
    BadChannel {
        /// Index of the channel in the list given to the writer.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A push named a channel the writer does not have.
    #[error("no channel {index}: the log has {count} channels")]
    NoSuchChannel {
        /// The index pushed to.
        index: usize,
        /// Channels in the log.
        count: usize,
    },
    /// [`LdWriter::push_row`](crate::LdWriter::push_row) got a row of the wrong length.
    #[error("a row has {got} values but the log has {expected} channels")]
    RowLength {
        /// Values in the row.
        got: usize,
        /// Channels in the log.
        expected: usize,
    },
    /// The file would outgrow the format: `.ld` offsets and sample counts are 32-bit.
    #[error("the .ld file would exceed {limit} bytes ({what}); .ld offsets and counts are 32-bit")]
    TooLarge {
        /// What overflowed.
        what: String,
        /// The limit, bytes.
        limit: u64,
    },
    /// The input ends before a structure it points to.
    #[error("truncated .ld: {what} at offset {offset:#x} needs {need} bytes, but the file has {len}")]
    Truncated {
        /// The structure, e.g. "channel descriptor 3".
        what: String,
        /// Its offset.
        offset: u64,
        /// Bytes it needs from there.
        need: u64,
        /// Length of the file.
        len: u64,
    },
    /// The first word is not the `.ld` marker.
    #[error("not a MoTeC .ld file: the word at offset 0x0 is {found:#x}, expected 0x40")]
    BadMarker {
        /// The word found.
        found: u32,
    },
    /// The linked list of channel descriptors comes back to a descriptor already read.
    #[error("the channel list loops: descriptor {index} at offset {offset:#x} points back to {target:#x}")]
    ChannelLoop {
        /// Index of the descriptor holding the bad link.
        index: usize,
        /// Its offset.
        offset: u64,
        /// Where it points.
        target: u64,
    },
    /// A channel descriptor's data type is not one this reader knows.
    #[error("channel {name:?} (descriptor at offset {offset:#x}): unknown data type {code} of {size} bytes")]
    UnknownDataType {
        /// Channel name.
        name: String,
        /// Descriptor offset.
        offset: u64,
        /// The type code.
        code: u16,
        /// The sample size.
        size: u16,
    },
    /// A channel descriptor's scaling cannot be applied (a zero divisor).
    #[error("channel {name:?} (descriptor at offset {offset:#x}): {problem}")]
    BadScaling {
        /// Channel name.
        name: String,
        /// Descriptor offset.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// An `.ldx` file that is not what the writer produces.
    #[error("bad .ldx at byte {offset}: {problem}")]
    BadLdx {
        /// Byte offset in the text.
        offset: usize,
        /// What is wrong.
        problem: String,
    },
}

impl MotecError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(io::Error) -> MotecError {
        move |source| MotecError::Io { what, source }
    }
}
