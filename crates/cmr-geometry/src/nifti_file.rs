//! One NIfTI-1 file <-> a stack of [`ImagePlane`]s with its pixels.
//!
//! # Axis and coordinate conventions
//!
//! * NIfTI voxel `(i, j, k, t)` is pixel **column** `i`, **row** `j` of slice `k` at time `t`.
//!   This is the layout UK Biobank's NIfTI files use (the DICOM pixel array transposed), and
//!   it makes the affine's first column the DICOM row direction times the column spacing and
//!   its second column the column direction times the row spacing.
//! * NIfTI world coordinates are RAS+ (x toward the patient's right is negative... i.e. +x =
//!   Right-to-left is *negated*): `RAS = diag(-1, -1, 1) * LPS`. Everything in this crate is
//!   LPS, so the first two rows of the affine change sign on the way in and out.
//! * Reading uses the sform when `sform_code > 0`, else the qform when `qform_code > 0`;
//!   a file with neither has no patient orientation and is refused
//!   ([`GeometryError::Nifti`]).
//! * Writing sets both: the sform exactly (code 1, scanner anatomical), and the qform
//!   (code 1) from the orthonormal part (exact whenever the slice step is along the normal).
//!
//! Arrays in this crate are `[slices, rows, cols]` (3-D) or `[time, slices, rows, cols]`
//! (4-D); the file order is the reverse, `(cols, rows, slices, time)`.

use std::io::Read;
use std::path::Path;

use ndarray::{Array2, ArrayD, ArrayView4, Axis, Ix4};
use nifti::writer::WriterOptions;
use nifti::{DataElement, IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions};

use crate::error::GeometryError;
use crate::limits::{LoadLimits, OverLimit};
use crate::plane::{ImagePlane, PixelSpacing};
use crate::Vec3;

/// Slice positions must lie this close (mm) to `origin0 + k * step` to be written as one
/// volume. DICOM positions are decimal strings; 0.05 mm accepts their rounding.
pub const VOLUME_POSITION_TOLERANCE_MM: f64 = 0.05;

/// An affine from voxel `(i, j, k)` to LPS millimetres: `columns[0] * i + columns[1] * j +
/// columns[2] * k + columns[3]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoxelToLps {
    /// The four columns: per-voxel steps along i, j, k, and the position of voxel (0, 0, 0).
    pub columns: [Vec3; 4],
}

fn lps_ras(v: Vec3) -> Vec3 {
    Vec3::new(-v.x, -v.y, v.z)
}

impl VoxelToLps {
    /// The affine of a stack of parallel planes of one size stepping by a constant vector.
    /// For a single plane, the step is the normal times `single_slice_step_mm`.
    ///
    /// # Errors
    /// [`GeometryError::NotAVolume`] when the planes differ in size, spacing or orientation,
    /// or are not at `origin0 + k * step` within [`VOLUME_POSITION_TOLERANCE_MM`].
    pub fn from_planes(
        planes: &[ImagePlane],
        single_slice_step_mm: f64,
        what: &str,
    ) -> Result<Self, GeometryError> {
        let not = |reason: String| GeometryError::NotAVolume {
            what: what.to_string(),
            reason,
        };
        let first = planes.first().ok_or_else(|| not("no slices".into()))?;
        let step = if planes.len() > 1 {
            (planes[planes.len() - 1].origin() - first.origin()) * (1.0 / (planes.len() - 1) as f64)
        } else {
            first.normal() * single_slice_step_mm
        };
        if step.norm() < 1e-6 {
            return Err(not("slices coincide (zero step)".into()));
        }
        for (k, p) in planes.iter().enumerate() {
            if (p.rows(), p.cols()) != (first.rows(), first.cols()) {
                return Err(not(format!(
                    "slice {k} is {}x{}, slice 0 is {}x{}",
                    p.rows(),
                    p.cols(),
                    first.rows(),
                    first.cols()
                )));
            }
            let (a, b) = (p.spacing(), first.spacing());
            if (a.between_rows - b.between_rows).abs() > 1e-6
                || (a.between_cols - b.between_cols).abs() > 1e-6
            {
                return Err(not(format!("slice {k} has a different pixel spacing")));
            }
            if (p.row_dir() - first.row_dir()).norm() > 1e-4
                || (p.col_dir() - first.col_dir()).norm() > 1e-4
            {
                return Err(not(format!("slice {k} has a different orientation")));
            }
            let off = (p.origin() - (first.origin() + step * k as f64)).norm();
            if off > VOLUME_POSITION_TOLERANCE_MM {
                return Err(not(format!(
                    "slice {k} is {off:.3} mm away from a constant-step position (missing or \
                     irregular slices)"
                )));
            }
        }
        let sp = first.spacing();
        Ok(Self {
            columns: [
                first.row_dir() * sp.between_cols,
                first.col_dir() * sp.between_rows,
                step,
                first.origin(),
            ],
        })
    }

    /// The image plane of slice `k` of a volume with `rows` x `cols` slices.
    ///
    /// # Errors
    /// As [`ImagePlane::new`] (for example when the in-plane axes are not orthogonal).
    pub fn plane(&self, k: usize, rows: usize, cols: usize) -> Result<ImagePlane, GeometryError> {
        let [ci, cj, ck, o] = self.columns;
        let (si, sj) = (ci.norm(), cj.norm());
        ImagePlane::new(
            o + ck * k as f64,
            ci * (1.0 / si),
            cj * (1.0 / sj),
            PixelSpacing {
                between_rows: sj,
                between_cols: si,
            },
            rows,
            cols,
        )
    }

    /// The same affine in NIfTI's RAS convention, as the three rows `srow_x/y/z`.
    pub fn to_ras_rows(&self) -> [[f64; 4]; 3] {
        let c = self.columns.map(lps_ras);
        [
            [c[0].x, c[1].x, c[2].x, c[3].x],
            [c[0].y, c[1].y, c[2].y, c[3].y],
            [c[0].z, c[1].z, c[2].z, c[3].z],
        ]
    }

    /// From NIfTI's RAS rows `srow_x/y/z`.
    pub fn from_ras_rows(rows: [[f64; 4]; 3]) -> Self {
        let col = |j: usize| lps_ras(Vec3::new(rows[0][j], rows[1][j], rows[2][j]));
        Self {
            columns: [col(0), col(1), col(2), col(3)],
        }
    }
}

/// NIfTI quaternion parameters `(b, c, d, qfac)` of a rotation given by three orthonormal
/// columns (after nifti1_io's `nifti_mat44_to_quatern`, NIfTI-1 reference library).
fn quaternion_of(c0: Vec3, c1: Vec3, c2: Vec3) -> (f64, f64, f64, f64) {
    let det = c0.dot(c1.cross(c2));
    let (c2, qfac) = if det > 0.0 { (c2, 1.0) } else { (-c2, -1.0) };
    // r[i][j]: row i, column j.
    let r = [[c0.x, c1.x, c2.x], [c0.y, c1.y, c2.y], [c0.z, c1.z, c2.z]];
    let trace1 = r[0][0] + r[1][1] + r[2][2] + 1.0;
    let (a, mut b, mut c, mut d): (f64, f64, f64, f64);
    if trace1 > 0.5 {
        a = 0.5 * trace1.sqrt();
        b = 0.25 * (r[2][1] - r[1][2]) / a;
        c = 0.25 * (r[0][2] - r[2][0]) / a;
        d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r[0][1] + r[1][0]) / b;
            d = 0.25 * (r[0][2] + r[2][0]) / b;
            a = 0.25 * (r[2][1] - r[1][2]) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r[0][1] + r[1][0]) / c;
            d = 0.25 * (r[1][2] + r[2][1]) / c;
            a = 0.25 * (r[0][2] - r[2][0]) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r[0][2] + r[2][0]) / d;
            c = 0.25 * (r[1][2] + r[2][1]) / d;
            a = 0.25 * (r[1][0] - r[0][1]) / d;
        }
        if a < 0.0 {
            (b, c, d) = (-b, -c, -d);
        }
    }
    (b, c, d, qfac)
}

/// The RAS rows of a qform (NIfTI-1 method 2).
fn qform_rows(h: &NiftiHeader) -> [[f64; 4]; 3] {
    let (b, c, d) = (h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - c * c - b * b,
        ],
    ];
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let s = [
        h.pixdim[1] as f64,
        h.pixdim[2] as f64,
        qfac * h.pixdim[3] as f64,
    ];
    let o = [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64];
    let mut rows = [[0.0; 4]; 3];
    for i in 0..3 {
        for j in 0..3 {
            rows[i][j] = r[i][j] * s[j];
        }
        rows[i][3] = o[i];
    }
    rows
}

/// What a NIfTI header says about geometry and timing.
#[derive(Debug, Clone, PartialEq)]
pub struct NiftiGeometry {
    /// Voxel to LPS.
    pub affine: VoxelToLps,
    /// `(cols, rows, slices, times)`: the file's first four dimensions (1 where absent).
    pub dims: [usize; 4],
    /// Time between frames, ms, when the header gives one (`pixdim[4]` with a time unit).
    pub frame_interval_ms: Option<f64>,
    /// The header's description field.
    pub description: String,
}

impl NiftiGeometry {
    /// Rows of each slice (the second NIfTI axis).
    pub fn rows(&self) -> usize {
        self.dims[1]
    }

    /// Columns of each slice (the first NIfTI axis).
    pub fn cols(&self) -> usize {
        self.dims[0]
    }

    /// Number of slices (third axis).
    pub fn slices(&self) -> usize {
        self.dims[2]
    }

    /// Number of time points (fourth axis).
    pub fn times(&self) -> usize {
        self.dims[3]
    }

    /// The image plane of every slice.
    ///
    /// # Errors
    /// As [`VoxelToLps::plane`].
    pub fn planes(&self) -> Result<Vec<ImagePlane>, GeometryError> {
        (0..self.slices())
            .map(|k| self.affine.plane(k, self.rows(), self.cols()))
            .collect()
    }
}

fn nifti_err(path: &Path, message: impl std::fmt::Display) -> GeometryError {
    GeometryError::Nifti {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Geometry of a parsed header.
///
/// # Errors
/// [`GeometryError::Nifti`] for more than 4 dimensions or no orientation (sform and qform
/// codes both 0).
pub fn geometry_of_header(h: &NiftiHeader, path: &Path) -> Result<NiftiGeometry, GeometryError> {
    let dim = h.dim().map_err(|e| nifti_err(path, e))?;
    if dim.len() > 4 {
        return Err(nifti_err(
            path,
            format!("{} dimensions; at most 4 are supported", dim.len()),
        ));
    }
    let mut dims = [1usize; 4];
    for (d, v) in dims.iter_mut().zip(dim) {
        *d = *v as usize;
    }
    let rows = if h.sform_code > 0 {
        let f = |r: [f32; 4]| r.map(f64::from);
        [f(h.srow_x), f(h.srow_y), f(h.srow_z)]
    } else if h.qform_code > 0 {
        qform_rows(h)
    } else {
        return Err(nifti_err(
            path,
            "neither sform nor qform is set, so the image has no patient orientation",
        ));
    };
    // xyzt_units bits 3..5 are the time unit: 8 = s, 16 = ms, 24 = us.
    let time_scale_ms = match h.xyzt_units & 0x38 {
        8 => Some(1000.0),
        16 => Some(1.0),
        24 => Some(0.001),
        _ => None,
    };
    let interval = h.pixdim[4] as f64;
    let frame_interval_ms = time_scale_ms
        .filter(|_| dims[3] > 1 && interval.is_finite() && interval > 0.0)
        .map(|s| s * interval);
    let description = String::from_utf8_lossy(&h.descrip)
        .trim_end_matches('\0')
        .trim()
        .to_string();
    Ok(NiftiGeometry {
        affine: VoxelToLps::from_ras_rows(rows),
        dims,
        frame_interval_ms,
        description,
    })
}

/// Reads only the header of a NIfTI file (`.nii` or `.nii.gz`), with
/// [`LoadLimits::default`]; see [`read_geometry_with`].
///
/// # Errors
/// As [`read_geometry_with`].
pub fn read_geometry(path: &Path) -> Result<NiftiGeometry, GeometryError> {
    read_geometry_with(path, &LoadLimits::default())
}

fn limit_err(path: &Path, o: OverLimit) -> GeometryError {
    GeometryError::LimitExceeded {
        path: path.to_path_buf(),
        limit: o.limit,
        value: o.value,
        max: o.max,
    }
}

fn corrupt(path: &Path, detail: String) -> GeometryError {
    GeometryError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// Checks what a header claims (image size, image count, data size, where the data starts)
/// against `limits` and, for an uncompressed file, against the file's size.
fn check_header_claims(
    h: &NiftiHeader,
    geometry: &NiftiGeometry,
    path: &Path,
    limits: &LoadLimits,
) -> Result<(), GeometryError> {
    if &h.magic != b"n+1\0" {
        return Err(nifti_err(
            path,
            format!(
                "magic {:?} is not that of a single-file NIfTI-1 image (n+1)",
                String::from_utf8_lossy(&h.magic)
            ),
        ));
    }
    let [cols, rows, slices, times] = geometry.dims.map(|d| d as u64);
    limits
        .check_image(rows, cols, slices.saturating_mul(times), 1)
        .map_err(|o| limit_err(path, o))?;
    let voxel_bytes = u64::try_from(h.bitpix.max(0) / 8).unwrap_or(0).max(1);
    let data_bytes = rows
        .saturating_mul(cols)
        .saturating_mul(slices)
        .saturating_mul(times)
        .saturating_mul(voxel_bytes);
    let offset = f64::from(h.vox_offset);
    if !(offset.is_finite() && offset >= 352.0) {
        return Err(corrupt(
            path,
            format!("vox_offset {offset} is not a byte offset after the 352-byte header"),
        ));
    }
    let needed = (offset as u64).saturating_add(data_bytes);
    LoadLimits::check("file size", needed, limits.max_file_bytes)
        .map_err(|o| limit_err(path, o))?;
    if !is_gz(path) {
        let len = std::fs::metadata(path)
            .map_err(|source| GeometryError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if len < needed {
            return Err(corrupt(
                path,
                format!(
                    "the header needs {needed} bytes ({data_bytes} of voxel data from byte \
                     {offset}) but the file has {len} (truncated?)"
                ),
            ));
        }
    }
    Ok(())
}

/// Walks the header extensions (between byte 352 and `vox_offset`) as the NIfTI reader will,
/// refusing a size that is too small to advance or runs past the voxel data.
fn check_extensions(h: &NiftiHeader, path: &Path) -> Result<(), GeometryError> {
    let vox_offset = h.vox_offset as u64;
    if vox_offset <= 352 {
        return Ok(());
    }
    let io = |source| GeometryError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut src: Box<dyn std::io::Read> = if is_gz(path) {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let skip = |n: u64, src: &mut Box<dyn std::io::Read>| -> Result<bool, GeometryError> {
        let copied = std::io::copy(&mut src.take(n), &mut std::io::sink()).map_err(io)?;
        Ok(copied == n)
    };
    if !skip(348, &mut src)? {
        return Ok(());
    }
    let mut extender = [0u8; 4];
    if src.read_exact(&mut extender).is_err() || extender[0] == 0 {
        return Ok(());
    }
    let big = h.endianness == nifti::Endianness::Big;
    let mut pos = 352u64;
    while pos < vox_offset {
        let mut head = [0u8; 8];
        if src.read_exact(&mut head).is_err() {
            return Ok(()); // the reader stops at the end of the data too
        }
        let word = |b: [u8; 4]| {
            if big {
                i32::from_be_bytes(b)
            } else {
                i32::from_le_bytes(b)
            }
        };
        let esize = word([head[0], head[1], head[2], head[3]]);
        if esize < 8 || pos + esize as u64 > vox_offset {
            return Err(corrupt(
                path,
                format!(
                    "header extension at byte {pos} has size {esize}; extensions must be at \
                     least 8 bytes and end by vox_offset {vox_offset}"
                ),
            ));
        }
        if !skip(esize as u64 - 8, &mut src)? {
            return Ok(());
        }
        pos += esize as u64;
    }
    Ok(())
}

/// Reads only the header of a NIfTI file (`.nii` or `.nii.gz`) and checks its claims against
/// `limits` (and, uncompressed, against the file size).
///
/// # Errors
/// [`GeometryError::Nifti`] when the file is not a readable single-file NIfTI-1 image or has
/// no orientation; [`GeometryError::LimitExceeded`] or [`GeometryError::Corrupt`] when its
/// header claims more than `limits` allow or than the file holds.
pub fn read_geometry_with(
    path: &Path,
    limits: &LoadLimits,
) -> Result<NiftiGeometry, GeometryError> {
    let h = NiftiHeader::from_file(path).map_err(|e| nifti_err(path, e))?;
    let g = geometry_of_header(&h, path)?;
    check_header_claims(&h, &g, path, limits)?;
    Ok(g)
}

/// A whole NIfTI volume as `f32` (after `scl_slope`/`scl_inter`), as
/// `[time, slices, rows, cols]`, with its geometry, with [`LoadLimits::default`]; see
/// [`read_volume_with`].
///
/// # Errors
/// As [`read_volume_with`].
pub fn read_volume(path: &Path) -> Result<(NiftiGeometry, ndarray::Array4<f32>), GeometryError> {
    read_volume_with(path, &LoadLimits::default())
}

/// A whole NIfTI volume as `f32` (after `scl_slope`/`scl_inter`), as
/// `[time, slices, rows, cols]`, with its geometry. The header's claims and extensions are
/// checked (see [`read_geometry_with`]) before the voxel data is read.
///
/// # Errors
/// As [`read_geometry_with`]; [`GeometryError::Corrupt`] for header extensions that do not
/// fit; [`GeometryError::Nifti`] when the voxel data cannot be read.
pub fn read_volume_with(
    path: &Path,
    limits: &LoadLimits,
) -> Result<(NiftiGeometry, ndarray::Array4<f32>), GeometryError> {
    let h = NiftiHeader::from_file(path).map_err(|e| nifti_err(path, e))?;
    let g = geometry_of_header(&h, path)?;
    check_header_claims(&h, &g, path, limits)?;
    check_extensions(&h, path)?;
    let obj = ReaderOptions::new()
        .read_file(path)
        .map_err(|e| nifti_err(path, e))?;
    let geometry = geometry_of_header(obj.header(), path)?;
    let mut data: ArrayD<f32> = obj
        .into_volume()
        .into_ndarray::<f32>()
        .map_err(|e| nifti_err(path, e))?;
    while data.ndim() < 4 {
        data.insert_axis_inplace(Axis(data.ndim()));
    }
    let data = data
        .into_dimensionality::<Ix4>()
        .map_err(|e| nifti_err(path, e))?
        .reversed_axes()
        .as_standard_layout()
        .into_owned();
    Ok((geometry, data))
}

/// One `[rows, cols]` image of a `[time, slices, rows, cols]` volume.
///
/// # Errors
/// [`GeometryError::Nifti`] when `slice` or `time` is out of range.
pub fn volume_image(
    volume: &ndarray::Array4<f32>,
    slice: usize,
    time: usize,
    path: &Path,
) -> Result<Array2<f32>, GeometryError> {
    let (t, s, _, _) = volume.dim();
    if slice >= s || time >= t {
        return Err(nifti_err(
            path,
            format!(
                "image (slice {slice}, time {time}) is outside the volume ({s} slices, {t} times)"
            ),
        ));
    }
    Ok(volume
        .index_axis(Axis(0), time)
        .index_axis(Axis(0), slice)
        .to_owned())
}

/// Options for [`write_volume`].
#[derive(Debug, Clone, PartialEq)]
pub struct NiftiWriteOptions {
    /// Step (mm, along the normal) recorded for a single-slice volume, whose slice step
    /// cannot be measured. UK Biobank long-axis files record their slice thickness here.
    pub single_slice_step_mm: f64,
    /// Time between frames, ms, written to `pixdim[4]` (with the time unit set to ms).
    pub frame_interval_ms: Option<f64>,
    /// The header's description (at most 79 bytes; longer text is cut).
    pub description: String,
}

impl Default for NiftiWriteOptions {
    fn default() -> Self {
        Self {
            single_slice_step_mm: 1.0,
            frame_interval_ms: None,
            description: String::new(),
        }
    }
}

/// The NIfTI header for a volume of these planes.
fn header_for(affine: &VoxelToLps, planes: &[ImagePlane], opts: &NiftiWriteOptions) -> NiftiHeader {
    let mut h = NiftiHeader::default();
    let rows = affine.to_ras_rows();
    let f = |r: [f64; 4]| r.map(|v| v as f32);
    h.srow_x = f(rows[0]);
    h.srow_y = f(rows[1]);
    h.srow_z = f(rows[2]);
    h.sform_code = 1;
    let [ci, cj, ck, o] = affine.columns.map(lps_ras);
    let (ui, uj) = (ci * (1.0 / ci.norm()), cj * (1.0 / cj.norm()));
    // The qform needs an orthonormal frame: the normal, signed like the slice step.
    let n = ui.cross(uj);
    let step_along_n = ck.dot(n);
    let uk = if step_along_n >= 0.0 { n } else { -n };
    let (b, c, d, qfac) = quaternion_of(ui, uj, uk);
    h.quatern_b = b as f32;
    h.quatern_c = c as f32;
    h.quatern_d = d as f32;
    h.quatern_x = o.x as f32;
    h.quatern_y = o.y as f32;
    h.quatern_z = o.z as f32;
    h.qform_code = 1;
    let sp = planes[0].spacing();
    h.pixdim = [
        qfac as f32,
        sp.between_cols as f32,
        sp.between_rows as f32,
        step_along_n.abs() as f32,
        opts.frame_interval_ms.unwrap_or(0.0) as f32,
        0.0,
        0.0,
        0.0,
    ];
    // Units: mm (2) and ms (16).
    h.xyzt_units = 2 | 16;
    let mut descrip = opts.description.as_bytes().to_vec();
    descrip.truncate(79);
    descrip.resize(80, 0);
    h.descrip = descrip;
    h
}

/// Writes `data` (`[time, slices, rows, cols]`) on `planes` (one per slice) as a NIfTI-1 file,
/// gzip-compressed when `path` ends in `.gz`. A single time point writes a 3-D file. The file
/// appears atomically (written to a temporary name in the same folder, then renamed).
///
/// ```
/// use cmr_geometry::nifti_file::{read_volume, write_volume, NiftiWriteOptions};
/// use cmr_geometry::ImagePlane;
/// use ndarray::Array4;
/// let dir = std::env::temp_dir().join(format!("cmr-geometry-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let planes: Vec<ImagePlane> = (0..3)
///     .map(|k| ImagePlane::from_dicom([0.0, 0.0, 8.0 * k as f64], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [1.5, 1.25], 4, 6))
///     .collect::<Result<_, _>>()?;
/// let data = Array4::from_shape_fn((2, 3, 4, 6), |(t, s, r, c)| (t * 1000 + s * 100 + r * 10 + c) as f32);
/// let path = dir.join("sa.nii.gz");
/// write_volume(&path, &planes, data.view(), &NiftiWriteOptions::default())?;
/// let (geometry, back) = read_volume(&path)?;
/// assert_eq!(back, data);
/// assert_eq!(geometry.planes()?[2].origin(), planes[2].origin());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), cmr_geometry::GeometryError>(())
/// ```
///
/// # Errors
/// [`GeometryError::NotAVolume`] when the planes cannot share one affine (see
/// [`VoxelToLps::from_planes`]) or `data` does not match them; [`GeometryError::Nifti`] or
/// [`GeometryError::Io`] when writing fails.
pub fn write_volume<T>(
    path: &Path,
    planes: &[ImagePlane],
    data: ArrayView4<'_, T>,
    opts: &NiftiWriteOptions,
) -> Result<(), GeometryError>
where
    T: NiftiVoxel,
{
    let what = path.display().to_string();
    let affine = VoxelToLps::from_planes(planes, opts.single_slice_step_mm, &what)?;
    let (t, s, r, c) = data.dim();
    if s != planes.len() || r != planes[0].rows() || c != planes[0].cols() || t == 0 {
        return Err(GeometryError::NotAVolume {
            what,
            reason: format!(
                "data is [time {t}, slices {s}, rows {r}, cols {c}] but there are {} planes of \
                 {}x{}",
                planes.len(),
                planes[0].rows(),
                planes[0].cols()
            ),
        });
    }
    let header = header_for(&affine, planes, opts);
    crate::atomic::write_with(path, |tmp| {
        let writer = WriterOptions::new(tmp).reference_header(&header);
        // The file order is the reverse of ours: (cols, rows, slices[, time]).
        let result = if t == 1 {
            T::write(
                &writer,
                data.index_axis(Axis(0), 0).reversed_axes().into_dyn(),
            )
        } else {
            T::write(&writer, data.reversed_axes().into_dyn())
        };
        result.map_err(|e| nifti_err(path, e))
    })
}

/// Voxel types [`write_volume`] can write: `u8`, `i16`, `u16`, `i32`, `f32`, `f64`.
pub trait NiftiVoxel: DataElement + Copy + sealed::Sealed {
    /// Writes an array in file axis order.
    #[doc(hidden)]
    fn write(writer: &WriterOptions<'_>, data: ndarray::ArrayViewD<'_, Self>) -> nifti::Result<()>;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! nifti_voxel {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl NiftiVoxel for $t {
            fn write(writer: &WriterOptions<'_>, data: ndarray::ArrayViewD<'_, Self>) -> nifti::Result<()> {
                writer.write_nifti(&data)
            }
        }
    )*};
}

nifti_voxel!(u8, i16, u16, i32, f32, f64);

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::Array4;
    use std::path::PathBuf;

    fn oblique_stack(n: usize) -> Vec<ImagePlane> {
        let first = ImagePlane::from_dicom(
            [-93.5, -121.3, 118.4],
            [0.654499, 0.739198, -0.1588, -0.353152, 0.113178, -0.928695],
            [1.8, 1.6],
            7,
            5,
        )
        .unwrap();
        (0..n)
            .map(|k| {
                ImagePlane::new(
                    first.origin() + first.normal() * (10.0 * k as f64),
                    first.row_dir(),
                    first.col_dir(),
                    first.spacing(),
                    7,
                    5,
                )
                .unwrap()
            })
            .collect()
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("cmr-geometry-nifti-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn oblique_stack_round_trips_geometry_and_pixels() {
        let dir = tmpdir("roundtrip");
        let planes = oblique_stack(4);
        let data = Array4::from_shape_fn((3, 4, 7, 5), |(t, s, r, c)| {
            (t * 1000 + s * 100 + r * 10 + c) as f32 - 0.5
        });
        for name in ["a.nii.gz", "a.nii"] {
            let path = dir.join(name);
            let opts = NiftiWriteOptions {
                frame_interval_ms: Some(30.5),
                description: "hello".into(),
                ..Default::default()
            };
            write_volume(&path, &planes, data.view(), &opts).unwrap();
            let (g, back) = read_volume(&path).unwrap();
            assert_eq!(back, data);
            assert_eq!(g.dims, [5, 7, 4, 3]);
            assert_eq!(g.frame_interval_ms, Some(30.5));
            assert_eq!(g.description, "hello");
            for (p, q) in planes.iter().zip(g.planes().unwrap()) {
                // The affine is stored as f32: ~1e-5 mm at 100 mm.
                assert_abs_diff_eq!((p.origin() - q.origin()).norm(), 0.0, epsilon = 1e-4);
                assert_abs_diff_eq!((p.row_dir() - q.row_dir()).norm(), 0.0, epsilon = 1e-6);
                assert_abs_diff_eq!((p.col_dir() - q.col_dir()).norm(), 0.0, epsilon = 1e-6);
                assert_abs_diff_eq!(q.spacing().between_rows, 1.8, epsilon = 1e-6);
                assert_abs_diff_eq!(q.spacing().between_cols, 1.6, epsilon = 1e-6);
            }
        }
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 2, "temporary folders were left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn qform_alone_gives_the_same_planes() {
        let dir = tmpdir("qform");
        for n in [1usize, 3] {
            let mut planes = oblique_stack(n);
            if n == 3 {
                // Slices stepping against the normal: a left-handed voxel frame (qfac = -1).
                planes.reverse();
            }
            let path = dir.join("q.nii");
            let data = Array4::<f32>::zeros((1, n, 7, 5));
            let opts = NiftiWriteOptions {
                single_slice_step_mm: 6.0,
                ..Default::default()
            };
            write_volume(&path, &planes, data.view(), &opts).unwrap();
            let mut h = NiftiHeader::from_file(&path).unwrap();
            assert_eq!(h.dim().unwrap().len(), 3);
            let from_sform = geometry_of_header(&h, &path).unwrap();
            h.sform_code = 0;
            let from_qform = geometry_of_header(&h, &path).unwrap();
            for j in 0..4 {
                let (a, b) = (from_sform.affine.columns[j], from_qform.affine.columns[j]);
                assert_abs_diff_eq!((a - b).norm(), 0.0, epsilon = 1e-4);
            }
            if n == 1 {
                assert_abs_diff_eq!(from_qform.affine.columns[2].norm(), 6.0, epsilon = 1e-5);
                assert_eq!(h.pixdim[0], 1.0);
            } else {
                assert_eq!(h.pixdim[0], -1.0);
            }
            h.qform_code = 0;
            assert!(matches!(
                geometry_of_header(&h, &path),
                Err(GeometryError::Nifti { .. })
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn world_coordinates_are_ras_on_disk() {
        // An axial plane at LPS (10, 20, 30): RAS (-10, -20, 30); LPS +x maps to RAS -x.
        let p = ImagePlane::from_dicom(
            [10.0, 20.0, 30.0],
            [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            [2.0, 3.0],
            2,
            2,
        )
        .unwrap();
        let a = VoxelToLps::from_planes(&[p], 5.0, "x").unwrap();
        let rows = a.to_ras_rows();
        assert_eq!(rows[0], [-3.0, 0.0, 0.0, -10.0]);
        assert_eq!(rows[1], [0.0, -2.0, 0.0, -20.0]);
        assert_eq!(rows[2], [0.0, 0.0, 5.0, 30.0]);
        assert_eq!(VoxelToLps::from_ras_rows(rows), a);
    }

    #[test]
    fn irregular_stacks_are_refused() {
        let mut planes = oblique_stack(4);
        planes.remove(2);
        let data = Array4::<f32>::zeros((1, 3, 7, 5));
        let err = write_volume(
            &std::env::temp_dir().join("never.nii"),
            &planes,
            data.view(),
            &NiftiWriteOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, GeometryError::NotAVolume { .. }), "{err}");
        let planes = oblique_stack(3);
        let wrong = Array4::<f32>::zeros((1, 3, 5, 7));
        assert!(matches!(
            write_volume(
                &std::env::temp_dir().join("never.nii"),
                &planes,
                wrong.view(),
                &NiftiWriteOptions::default()
            ),
            Err(GeometryError::NotAVolume { .. })
        ));
    }
}
