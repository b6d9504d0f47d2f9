//! Input preprocessing, the last step of every image transform; a model file
//! stores which one its inputs had.

use crate::error::KernelError;

/// How 0-255 pixel values become model inputs (per channel `ch`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Preprocess {
    /// Raw values, `v`.
    None,
    /// `v / 255`, in `[0, 1]`.
    MinMax,
    /// VGG16/Caffe (Keras `preprocess_input(mode='caffe')`): RGB → BGR, then
    /// `v - mean[ch]` on the 0-255 scale; `mean` is in BGR order, e.g.
    /// `[103.939, 116.779, 123.68]`. One channel: `v - mean[0]`.
    Caffe { mean: [f32; 3] },
    /// `(v / 255 - mean[ch]) / std[ch]`.
    Standardize { mean: [f32; 3], std: [f32; 3] },
}

impl Preprocess {
    /// From the ABI's `preprocess` code: 0 none, 1 minmax, 2 caffe, 3 standardize.
    pub fn from_code(kind: u32, mean: [f32; 3], std: [f32; 3]) -> Result<Self, KernelError> {
        match kind {
            0 => Ok(Self::None),
            1 => Ok(Self::MinMax),
            2 => Ok(Self::Caffe { mean }),
            3 => Ok(Self::Standardize { mean, std }),
            v => Err(KernelError::value(format!(
                "image: preprocess must be 0 (none), 1 (minmax), 2 (caffe) or 3 (standardize), got {v}"
            ))),
        }
    }

    /// Means finite and standard deviations finite and > 0 (for the first `c` channels).
    pub fn validate(&self, c: usize) -> Result<(), KernelError> {
        let (mean, std) = match self {
            Self::None | Self::MinMax => return Ok(()),
            Self::Caffe { mean } => (mean, None),
            Self::Standardize { mean, std } => (mean, Some(std)),
        };
        for ch in 0..c {
            if !mean[ch].is_finite() {
                return Err(KernelError::value(format!("image: preprocess mean[{ch}] must be finite, got {}", mean[ch])));
            }
            if let Some(std) = std {
                if !(std[ch].is_finite() && std[ch] > 0.0) {
                    return Err(KernelError::value(format!("image: preprocess std[{ch}] must be finite and > 0, got {}", std[ch])));
                }
            }
        }
        Ok(())
    }
}

/// Applies `p` in place to one `[h, w, c]` image of 0-255 values.
pub fn preprocess_image(p: &Preprocess, c: usize, img: &mut [f32]) {
    match *p {
        Preprocess::None => {}
        Preprocess::MinMax => img.iter_mut().for_each(|v| *v /= 255.0),
        Preprocess::Caffe { mean } => {
            if c == 3 {
                for px in img.chunks_exact_mut(3) {
                    let (r, b) = (px[0], px[2]);
                    px[0] = b - mean[0];
                    px[1] -= mean[1];
                    px[2] = r - mean[2];
                }
            } else {
                img.iter_mut().for_each(|v| *v -= mean[0]);
            }
        }
        Preprocess::Standardize { mean, std } => {
            for px in img.chunks_exact_mut(c) {
                for (ch, v) in px.iter_mut().enumerate() {
                    *v = (*v / 255.0 - mean[ch]) / std[ch];
                }
            }
        }
    }
}
