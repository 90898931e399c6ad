use prefect::prelude::*;

#[task]
const fn konst() -> u32 {
    1
}

#[task]
unsafe fn danger() {}

#[task]
extern "C" fn foreign() {}

fn main() {}
