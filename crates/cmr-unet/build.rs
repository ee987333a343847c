//! Sets the libtorch rpath and links torch_cuda for this package's targets.

fn main() {
    cmr_torch_link::emit();
}
