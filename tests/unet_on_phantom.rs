//! Cross-crate: phantom anatomy imaged through cmr-geometry planes feeds the U-Net, and one
//! few optimisation steps on the masked cross-entropy of cmr-pretext lower that loss.

use cmr_ssl::geometry::ImagePlane;
use cmr_ssl::geometry::Vec3;
use cmr_ssl::phantom::Ellipsoid;
use cmr_ssl::pretext::masked_cross_entropy;
use cmr_ssl::train::stack_images;
use cmr_ssl::unet::{HeadSpec, UNet, UNetConfig};
use ndarray::Array2;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Tensor};

#[test]
fn phantom_slices_train_the_unet() {
    tch::manual_seed(3);
    let plane = ImagePlane::from_dicom(
        [-31.0, -31.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        [2.0, 2.0],
        32,
        32,
    )
    .unwrap();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for k in 0..4 {
        let e = Ellipsoid::axis_aligned(Vec3::new(k as f64 * 3.0, 0.0, 0.0), [12.0, 16.0, 30.0]);
        let mask = e.mask_on(&plane);
        images.push(mask.mapv(|m| if m { 1.0f32 } else { 0.2 }));
        labels.extend(mask.iter().map(|&m| i64::from(m)));
    }
    let x = stack_images(&images).unwrap();
    let y = Tensor::from_slice(&labels).view([4, 32, 32]);
    assert_eq!(Array2::<f32>::zeros((32, 32)).dim(), images[0].dim());

    let net = UNet::new(
        &UNetConfig {
            levels: 3,
            base_channels: 4,
            heads: vec![HeadSpec::new("lv", 2)],
            ..UNetConfig::default()
        },
        Device::Cpu,
    )
    .unwrap();
    let mut opt = nn::Adam::default().build(net.var_store(), 1e-2).unwrap();
    let loss_of = |train: bool| {
        let out = net.forward_t(&x, train).unwrap();
        masked_cross_entropy(out.head("lv").unwrap(), &y, None, 2, None).unwrap()
    };
    let before = loss_of(true).double_value(&[]);
    for _ in 0..20 {
        let loss = loss_of(true);
        opt.backward_step(&loss);
    }
    let after = loss_of(true).double_value(&[]);
    assert!(after < 0.5 * before, "loss {before} -> {after}");
}
