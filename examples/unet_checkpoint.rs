//! The U-Net's transfer-learning life cycle with cmr-unet: build a pretext network with a
//! 10-class "positions" head, save it, build a segmentation network on the same trunk,
//! load the pretrained trunk partially (with the load report), freeze the encoder for an
//! "SSL+Decoder" step, then unfreeze and replace the head.
//!
//! ```text
//! cargo run --example unet_checkpoint [-- --out DIR]   # default DIR: target/unet-checkpoint
//! ```

use cmr_ssl::unet::{default_device, HeadSpec, LoadScope, UNet, UNetConfig};
use tch::nn::OptimizerConfig;
use tch::{Kind, Reduction, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.as_slice() {
        [] => std::path::PathBuf::from("target/unet-checkpoint"),
        [flag, dir] if flag == "--out" => dir.into(),
        _ => return Err("usage: unet_checkpoint [--out DIR]".into()),
    };
    std::fs::create_dir_all(&out)?;
    let device = default_device();
    tch::manual_seed(0);

    // 1. The pretext network (Bai et al.'s widths, a positions head).
    let pretext_config = UNetConfig {
        heads: vec![HeadSpec::new("positions", 10)],
        ..UNetConfig::default()
    };
    let pretext = UNet::new(&pretext_config, device)?;
    let counts = pretext.parameter_counts();
    println!(
        "pretext U-Net on {device:?}, {:?}: {} parameters (encoder {}, decoder {}, heads {}), {} buffer values",
        pretext.kind(),
        counts.total(),
        counts.encoder,
        counts.decoder,
        counts.heads,
        counts.buffers
    );
    let pretext_path = out.join("pretext.safetensors");
    pretext.save(&pretext_path)?; // temporary file + rename
    println!("saved {}", pretext_path.display());

    // 2. The segmentation network: same trunk, a 4-class head, pretrained trunk loaded.
    let mut net = UNet::new(
        &UNetConfig {
            heads: vec![HeadSpec::new("segmentation", 4)],
            ..pretext_config.clone()
        },
        device,
    )?;
    let report = net.load(&pretext_path, &LoadScope::AllButHeads)?;
    println!("{report}");

    // 3. SSL+Decoder: encoder frozen (no gradients, BatchNorm statistics held).
    net.freeze_encoder();
    println!(
        "encoder frozen: {} of {} parameters train",
        net.parameter_counts().trainable,
        net.parameter_counts().total()
    );
    let x = Tensor::randn([2, 1, 100, 90], (Kind::Float, device));
    let y = Tensor::randint(4, [2, 100, 90], (Kind::Int64, device));
    let mut opt = tch::nn::Adam::default().build(net.var_store(), 1e-3)?;
    let encoder_weight = || net.named_tensors()["encoder.blocks.0.conv1.weight"].copy();
    let before = encoder_weight();
    let loss = net
        .forward_t(&x, true)?
        .into_head("segmentation")?
        .cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
    opt.backward_step(&loss);
    println!(
        "one Adam step, loss {:.4}; frozen encoder weight unchanged: {}",
        loss.double_value(&[]),
        before.equal(&encoder_weight())
    );

    // 4. SSL+All: unfreeze; a new 3-class head (re-initialised), checkpoint round trip.
    net.unfreeze_encoder();
    net.replace_head(HeadSpec::new("segmentation", 3))?;
    let path = out.join("finetuned.safetensors");
    net.save(&path)?;
    let back = UNet::from_checkpoint(&path, device)?;
    let out_shape = back.forward_t(&x, false)?.into_head("segmentation")?.size();
    println!(
        "reloaded {} (config from its metadata): segmentation logits {out_shape:?}",
        path.display()
    );
    Ok(())
}
