//! Checking a DICOM file's structure before the parser allocates anything.
//!
//! The dicom-rs parser reserves and zero-fills each element's declared length before reading
//! its value, so a corrupt or crafted element claiming 4 GB in a 1 kB file costs 4 GB of
//! memory before the read fails. This module walks the element headers the same way the
//! parser will (file meta group, then the data set in its transfer syntax, into sequences and
//! items, over encapsulated pixel fragments) without reading any value, and refuses the file
//! when a declared length runs past the end of the file, sequences nest deeper than the
//! limit, or a deflated data set inflates beyond the file size limit.
//!
//! A file whose structure the walk cannot follow (no `DICM` marker, an unknown transfer
//! syntax, a meta group the parser would refuse) is passed on unchanged: the parser then
//! fails on it without large allocations of its own.

use std::io::{Read, Seek, SeekFrom};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_encoding::transfer_syntax::{Codec, Endianness};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use crate::limits::{LoadLimits, OverLimit};

const UNDEFINED: u32 = 0xFFFF_FFFF;
const IMPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";

/// Why a file's structure is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GuardError {
    /// The structure contradicts itself or the file size (truncated or corrupt).
    Corrupt(String),
    /// A claim is larger than a [`LoadLimits`] allows.
    OverLimit(OverLimit),
    /// The file could not be read.
    Io(String),
}

impl From<OverLimit> for GuardError {
    fn from(e: OverLimit) -> Self {
        Self::OverLimit(e)
    }
}

/// What the top-level PixelData element holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelDataExtent {
    /// Native (uncompressed) pixel data of this many bytes.
    Native(u64),
    /// Encapsulated pixel data: this many fragments after the basic offset table.
    Fragments(u64),
}

/// What the walk learned about a file it accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Structure {
    /// The top-level PixelData, when the walk reached one.
    pub pixel_data: Option<PixelDataExtent>,
}

/// Random access to the file's bytes.
pub(crate) trait ByteSource {
    fn len(&self) -> u64;
    /// Fills `buf` from `pos`; `false` when the source ends first.
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<bool, GuardError>;
}

impl ByteSource for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<bool, GuardError> {
        let Ok(start) = usize::try_from(pos) else {
            return Ok(false);
        };
        match self.get(start..start.saturating_add(buf.len())) {
            Some(s) => {
                buf.copy_from_slice(s);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// A file read through a window of [`FileSource::WINDOW`] bytes, so that headers cost one
/// read per window and skipped values (pixel data) cost nothing.
pub(crate) struct FileSource {
    file: std::fs::File,
    len: u64,
    window: Vec<u8>,
    start: u64,
}

impl FileSource {
    const WINDOW: usize = 64 * 1024;

    pub fn new(file: std::fs::File, len: u64) -> Self {
        Self {
            file,
            len,
            window: Vec::new(),
            start: 0,
        }
    }
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<bool, GuardError> {
        let end = pos.saturating_add(buf.len() as u64);
        if end > self.len {
            return Ok(false);
        }
        let win_end = self.start + self.window.len() as u64;
        if pos < self.start || end > win_end {
            let want = (Self::WINDOW.max(buf.len()) as u64).min(self.len - pos) as usize;
            self.window.resize(want, 0);
            self.file
                .seek(SeekFrom::Start(pos))
                .and_then(|_| self.file.read_exact(&mut self.window))
                .map_err(|e| GuardError::Io(e.to_string()))?;
            self.start = pos;
        }
        let off = (pos - self.start) as usize;
        buf.copy_from_slice(&self.window[off..off + buf.len()]);
        Ok(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

struct Walker<'a, S: ByteSource> {
    src: &'a mut S,
    limits: &'a LoadLimits,
    enc: Encoding,
    pixel_data: Option<PixelDataExtent>,
    /// Declared minus consumed bytes so far (see [`Walker::counter`]).
    skew: u64,
}

fn tag_name(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

impl<S: ByteSource> Walker<'_, S> {
    fn end(&self) -> u64 {
        self.src.len()
    }

    fn bytes<const N: usize>(&mut self, pos: u64) -> Result<Option<[u8; N]>, GuardError> {
        let mut b = [0u8; N];
        Ok(self.src.read_at(pos, &mut b)?.then_some(b))
    }

    fn u16_at(&self, b: [u8; 2]) -> u16 {
        match self.enc {
            Encoding::ExplicitBe => u16::from_be_bytes(b),
            _ => u16::from_le_bytes(b),
        }
    }

    fn u32_at(&self, b: [u8; 4]) -> u32 {
        match self.enc {
            Encoding::ExplicitBe => u32::from_be_bytes(b),
            _ => u32::from_le_bytes(b),
        }
    }

    /// Refuses a defined length that runs past the end of the file.
    fn fits(&self, tag: Tag, len: u32, pos: u64) -> Result<(), GuardError> {
        let remaining = self.end().saturating_sub(pos);
        if u64::from(len) > remaining {
            return Err(GuardError::Corrupt(format!(
                "element {} at byte {pos} declares {len} bytes but only {remaining} remain \
                 (truncated or corrupt file)",
                tag_name(tag)
            )));
        }
        Ok(())
    }

    /// The parser's position counter: it adds each element's declared length even where it
    /// consumes less (see [`consumed`]), and ends defined-length sequences and items by it.
    fn counter(&self, pos: u64) -> u64 {
        pos + self.skew
    }

    /// Walks data elements (a data set or an item) from `*pos` until the counter reaches
    /// `stop`, the end of the file, or an item delimiter that closes this level.
    fn elements(
        &mut self,
        pos: &mut u64,
        stop: u64,
        depth: usize,
        top: bool,
    ) -> Result<(), GuardError> {
        LoadLimits::check(
            "sequence nesting depth",
            depth as u64,
            self.limits.max_sequence_depth as u64,
        )?;
        loop {
            if self.counter(*pos) >= stop {
                return Ok(());
            }
            // The parser ends the data set quietly where a tag cannot be read.
            let Some(head) = self.bytes::<8>(*pos)? else {
                return Ok(());
            };
            let group = self.u16_at([head[0], head[1]]);
            let element = self.u16_at([head[2], head[3]]);
            let tag = Tag(group, element);
            if group == 0xFFFE {
                let len = self.u32_at([head[4], head[5], head[6], head[7]]);
                *pos += 8;
                if element == 0xE00D {
                    if top {
                        continue; // ignored outside sequences
                    }
                    return Ok(());
                }
                // Any other (FFFE,xxxx) among elements is read as a value of unknown VR.
                self.value(pos, tag, VR::UN, len, depth)?;
                continue;
            }
            let (vr, len) = match self.enc {
                Encoding::ImplicitLe => {
                    *pos += 8;
                    let vr = if tag == tags::PIXEL_DATA || (group >> 8 == 0x60 && element == 0x3000)
                    {
                        VR::OW
                    } else {
                        StandardDataDictionary
                            .by_tag(tag)
                            .map(|e| e.vr().relaxed())
                            .unwrap_or(VR::UN)
                    };
                    (vr, u32::from_le_bytes([head[4], head[5], head[6], head[7]]))
                }
                Encoding::ExplicitLe | Encoding::ExplicitBe => {
                    let vr = VR::from_binary([head[4], head[5]]).unwrap_or(VR::UN);
                    if short_length(vr) {
                        *pos += 8;
                        (vr, u32::from(self.u16_at([head[6], head[7]])))
                    } else {
                        let Some(l) = self.bytes::<4>(*pos + 8)? else {
                            return Ok(());
                        };
                        *pos += 12;
                        (vr, self.u32_at(l))
                    }
                }
            };
            if tag == tags::PIXEL_DATA && len == UNDEFINED {
                self.fragments(pos, depth)?;
            } else if vr == VR::SQ || len == UNDEFINED {
                self.sequence(pos, len, depth)?;
            } else {
                if tag == tags::PIXEL_DATA && depth == 0 {
                    self.pixel_data = Some(PixelDataExtent::Native(u64::from(len)));
                }
                self.value(pos, tag, vr, len, depth)?;
            }
        }
    }

    fn value(
        &mut self,
        pos: &mut u64,
        tag: Tag,
        vr: VR,
        len: u32,
        depth: usize,
    ) -> Result<(), GuardError> {
        if len == UNDEFINED {
            return self.sequence(pos, len, depth);
        }
        self.fits(tag, len, *pos)?;
        let used = consumed(vr, len);
        *pos += u64::from(used);
        self.skew += u64::from(len - used);
        Ok(())
    }

    /// A sequence: items until its (counted) length is used up or its delimiter.
    fn sequence(&mut self, pos: &mut u64, len: u32, depth: usize) -> Result<(), GuardError> {
        let stop = if len == UNDEFINED {
            u64::MAX
        } else {
            self.fits(Tag(0xFFFE, 0xE0DD), len, *pos)?;
            self.counter(*pos) + u64::from(len)
        };
        LoadLimits::check(
            "sequence nesting depth",
            depth as u64 + 1,
            self.limits.max_sequence_depth as u64,
        )?;
        loop {
            if self.counter(*pos) >= stop {
                return Ok(());
            }
            let Some(head) = self.bytes::<8>(*pos)? else {
                return Ok(());
            };
            let tag = Tag(
                self.u16_at([head[0], head[1]]),
                self.u16_at([head[2], head[3]]),
            );
            let item_len = self.u32_at([head[4], head[5], head[6], head[7]]);
            *pos += 8;
            match tag {
                Tag(0xFFFE, 0xE000) => {
                    let item_stop = if item_len == UNDEFINED {
                        u64::MAX
                    } else {
                        self.fits(tag, item_len, *pos)?;
                        self.counter(*pos) + u64::from(item_len)
                    };
                    self.elements(pos, item_stop, depth + 1, false)?;
                }
                Tag(0xFFFE, 0xE0DD) => return Ok(()),
                // An item delimiter here, or anything else: the parser stops with an error.
                _ => {
                    return Err(GuardError::Corrupt(format!(
                        "{} (length {item_len:#x}) where a sequence item is expected",
                        tag_name(tag)
                    )))
                }
            }
        }
    }

    /// Encapsulated pixel data: the offset table and fragments, each read whole by the parser.
    fn fragments(&mut self, pos: &mut u64, depth: usize) -> Result<(), GuardError> {
        let mut items = 0u64;
        while let Some(head) = self.bytes::<8>(*pos)? {
            let tag = Tag(
                self.u16_at([head[0], head[1]]),
                self.u16_at([head[2], head[3]]),
            );
            let len = self.u32_at([head[4], head[5], head[6], head[7]]);
            *pos += 8;
            match tag {
                Tag(0xFFFE, 0xE0DD) => break,
                Tag(0xFFFE, 0xE000) if len != UNDEFINED => {
                    self.fits(tag, len, *pos)?;
                    *pos += u64::from(len);
                    items += 1;
                }
                _ => {
                    return Err(GuardError::Corrupt(format!(
                        "encapsulated pixel data holds {} (length {len:#x}) where a fragment \
                         item is expected",
                        tag_name(tag)
                    )))
                }
            }
        }
        if depth == 0 {
            self.pixel_data = Some(PixelDataExtent::Fragments(items.saturating_sub(1)));
        }
        Ok(())
    }
}

/// How many bytes the dicom-rs parser consumes for a value of `len` bytes: binary numbers
/// are read whole, so a length that is not a multiple of the number size leaves the
/// remainder unread (and the next header is read from there).
fn consumed(vr: VR, len: u32) -> u32 {
    match vr {
        VR::AT | VR::FL | VR::OF | VR::SL | VR::OL | VR::UL => len & !3,
        VR::FD | VR::OD | VR::SV | VR::OV | VR::UV => len & !7,
        VR::US | VR::OW | VR::SS => len & !1,
        _ => len,
    }
}

/// VRs whose explicit length field has 16 bits (PS3.5 7.1.2).
fn short_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::AT
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::FL
            | VR::FD
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::SL
            | VR::SS
            | VR::ST
            | VR::TM
            | VR::UI
            | VR::UL
            | VR::US
    )
}

/// An explicit VR little endian element header at `pos`, as the meta group decoder reads it:
/// `(tag, length, header bytes)`; group 0xFFFE has no VR.
fn explicit_le_header<S: ByteSource>(
    w: &mut Walker<'_, S>,
    pos: u64,
) -> Result<Option<(Tag, u32, u64)>, GuardError> {
    let Some(h) = w.bytes::<8>(pos)? else {
        return Ok(None);
    };
    let tag = Tag(
        u16::from_le_bytes([h[0], h[1]]),
        u16::from_le_bytes([h[2], h[3]]),
    );
    if tag.0 == 0xFFFE {
        return Ok(Some((tag, u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 8)));
    }
    let vr = VR::from_binary([h[4], h[5]]).unwrap_or(VR::UN);
    if short_length(vr) {
        return Ok(Some((tag, u32::from(u16::from_le_bytes([h[6], h[7]])), 8)));
    }
    Ok(w.bytes::<4>(pos + 8)?
        .map(|l| (tag, u32::from_le_bytes(l), 12)))
}

/// Walks the file meta group starting after `DICM` as dicom-object reads it (explicit VR
/// little endian; a first element (0002,0000) of length 4 giving the group length; elements
/// until that many bytes are read, whatever their tag or VR); returns the transfer syntax UID
/// and where the data set starts, or `None` where the reader refuses the group itself.
fn meta_group<S: ByteSource>(
    w: &mut Walker<'_, S>,
    mut pos: u64,
) -> Result<Option<(String, u64)>, GuardError> {
    let Some((tag, len, hlen)) = explicit_le_header(w, pos)? else {
        return Ok(None);
    };
    if tag != Tag(0x0002, 0x0000) || len != 4 {
        return Ok(None);
    }
    pos += hlen;
    let Some(gl) = w.bytes::<4>(pos)? else {
        return Ok(None);
    };
    let group_length = u32::from_le_bytes(gl);
    pos += 4;
    let mut read = 0u32;
    let mut ts = None;
    while read < group_length {
        let Some((tag, len, hlen)) = explicit_le_header(w, pos)? else {
            return Ok(None);
        };
        if len == UNDEFINED {
            return Ok(None);
        }
        pos += hlen;
        w.fits(tag, len, pos)?;
        if tag == tags::TRANSFER_SYNTAX_UID && len <= 128 {
            let mut v = vec![0u8; len as usize];
            if !w.src.read_at(pos, &mut v)? {
                return Ok(None);
            }
            let uid = String::from_utf8_lossy(&v)
                .trim_end_matches(['\0', ' '])
                .to_string();
            ts = Some(uid);
        }
        pos += u64::from(len);
        read = read.saturating_add(hlen as u32).saturating_add(len);
    }
    Ok(ts.map(|t| (t, pos)))
}

/// Checks a whole DICOM file (preamble optional) against `limits`; see the module docs.
pub(crate) fn check<S: ByteSource>(
    src: &mut S,
    limits: &LoadLimits,
) -> Result<Structure, GuardError> {
    LoadLimits::check("file size", src.len(), limits.max_file_bytes)?;
    let mut magic = [0u8; 4];
    let start = if src.read_at(128, &mut magic)? && &magic == b"DICM" {
        132
    } else if src.read_at(0, &mut magic)? && &magic == b"DICM" {
        4
    } else {
        return Ok(Structure::default());
    };
    let mut w = Walker {
        src,
        limits,
        enc: Encoding::ExplicitLe,
        pixel_data: None,
        skew: 0,
    };
    let Some((uid, body)) = meta_group(&mut w, start)? else {
        return Ok(Structure::default());
    };
    let Some(ts) = TransferSyntaxRegistry.get(&uid) else {
        return Ok(Structure::default());
    };
    let enc = if uid == IMPLICIT_VR_LITTLE_ENDIAN {
        Encoding::ImplicitLe
    } else if ts.endianness() == Endianness::Big {
        Encoding::ExplicitBe
    } else {
        Encoding::ExplicitLe
    };
    if matches!(ts.codec(), Codec::Dataset(_)) {
        // Deflated: inflate (up to the size limit), then walk the inflated bytes.
        let mut raw = vec![0u8; (w.src.len() - body.min(w.src.len())) as usize];
        if !w.src.read_at(body, &mut raw)? {
            return Ok(Structure::default());
        }
        let mut inflated = Vec::new();
        let cap = limits.max_file_bytes;
        // A broken stream ends the parser's data too: walk what inflates before the error.
        let _ = flate2::read::DeflateDecoder::new(&raw[..])
            .take(cap.saturating_add(1))
            .read_to_end(&mut inflated);
        LoadLimits::check("inflated data set size", inflated.len() as u64, cap)?;
        let mut slice: &[u8] = &inflated;
        let mut inner = Walker {
            src: &mut slice,
            limits,
            enc,
            pixel_data: None,
            skew: 0,
        };
        let mut pos = 0;
        inner.elements(&mut pos, u64::MAX, 0, true)?;
        return Ok(Structure {
            pixel_data: inner.pixel_data,
        });
    }
    w.enc = enc;
    let mut pos = body;
    w.elements(&mut pos, u64::MAX, 0, true)?;
    Ok(Structure {
        pixel_data: w.pixel_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Preamble, DICM and a meta group naming `ts`.
    fn file_with(ts: &str, body: &[u8]) -> Vec<u8> {
        let mut uid = ts.as_bytes().to_vec();
        if uid.len() % 2 == 1 {
            uid.push(0);
        }
        let mut meta = Vec::new();
        meta.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        meta.extend_from_slice(&(uid.len() as u16).to_le_bytes());
        meta.extend_from_slice(&uid);
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        out.extend_from_slice(body);
        out
    }

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&tag.0.to_le_bytes());
        e.extend_from_slice(&tag.1.to_le_bytes());
        e.extend_from_slice(vr);
        if short_length(VR::from_binary(*vr).unwrap()) {
            e.extend_from_slice(&(value.len() as u16).to_le_bytes());
        } else {
            e.extend_from_slice(&[0, 0]);
            e.extend_from_slice(&(value.len() as u32).to_le_bytes());
        }
        e.extend_from_slice(value);
        e
    }

    const ELE: &str = "1.2.840.10008.1.2.1";

    #[test]
    fn a_well_formed_file_passes_and_reports_its_pixel_data() {
        let mut body = explicit((0x0008, 0x0060), b"CS", b"MR");
        body.extend(explicit((0x7FE0, 0x0010), b"OW", &[0u8; 32]));
        let bytes = file_with(ELE, &body);
        let s = check(&mut &bytes[..], &LoadLimits::default()).unwrap();
        assert_eq!(s.pixel_data, Some(PixelDataExtent::Native(32)));
    }

    #[test]
    fn a_length_past_the_end_of_the_file_is_corrupt() {
        let mut body = explicit((0x0008, 0x0060), b"CS", b"MR");
        // OB claiming 0xFFFFFFF0 bytes, followed by 4 real ones.
        body.extend_from_slice(&[0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]);
        body.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        body.extend_from_slice(&[1, 2, 3, 4]);
        let bytes = file_with(ELE, &body);
        match check(&mut &bytes[..], &LoadLimits::default()) {
            Err(GuardError::Corrupt(msg)) => {
                assert!(msg.contains("(0009,1010)"), "{msg}");
                assert!(msg.contains("4294967280 bytes but only 4 remain"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        // The same claim inside a sequence item is found too.
        let mut item = Vec::new();
        item.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, b'P', b'N', 0xFF, 0x7F]);
        let mut seq = vec![
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        seq.extend_from_slice(&item);
        let bytes = file_with(ELE, &seq);
        assert!(matches!(
            check(&mut &bytes[..], &LoadLimits::default()),
            Err(GuardError::Corrupt(_))
        ));
    }

    #[test]
    fn implicit_vr_sequences_are_walked_with_the_dictionary() {
        // (0008,1115) ReferencedSeriesSequence, defined length, holding an item whose
        // (0020,000E) claims 1 MB.
        let mut item = Vec::new();
        item.extend_from_slice(&[0x20, 0x00, 0x0E, 0x00]);
        item.extend_from_slice(&(1u32 << 20).to_le_bytes());
        let mut seq = vec![0x08, 0x00, 0x15, 0x11];
        seq.extend_from_slice(&((item.len() + 8) as u32).to_le_bytes());
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
        seq.extend_from_slice(&item);
        let bytes = file_with(IMPLICIT_VR_LITTLE_ENDIAN, &seq);
        assert!(matches!(
            check(&mut &bytes[..], &LoadLimits::default()),
            Err(GuardError::Corrupt(_))
        ));
    }

    #[test]
    fn deep_nesting_and_big_files_break_limits() {
        let mut body = Vec::new();
        for _ in 0..10 {
            body.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
            body.extend_from_slice(&[0xFF; 4]);
            body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let bytes = file_with(ELE, &body);
        let shallow = LoadLimits {
            max_sequence_depth: 8,
            ..LoadLimits::default()
        };
        match check(&mut &bytes[..], &shallow) {
            Err(GuardError::OverLimit(o)) => assert_eq!(o.limit, "sequence nesting depth"),
            other => panic!("{other:?}"),
        }
        assert!(check(&mut &bytes[..], &LoadLimits::default()).is_ok());
        let tiny = LoadLimits {
            max_file_bytes: 100,
            ..LoadLimits::default()
        };
        assert!(matches!(
            check(&mut &bytes[..], &tiny),
            Err(GuardError::OverLimit(_))
        ));
    }

    #[test]
    fn encapsulated_fragments_are_counted_and_checked() {
        let mut body = vec![
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]); // empty offset table
        for _ in 0..3 {
            body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 7, 7]);
        }
        body.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let bytes = file_with("1.2.840.10008.1.2.5", &body);
        let s = check(&mut &bytes[..], &LoadLimits::default()).unwrap();
        assert_eq!(s.pixel_data, Some(PixelDataExtent::Fragments(3)));
        let mut cut = bytes.clone();
        cut.truncate(cut.len() - 9);
        assert!(matches!(
            check(&mut &cut[..], &LoadLimits::default()),
            Err(GuardError::Corrupt(_))
        ));
    }
}
