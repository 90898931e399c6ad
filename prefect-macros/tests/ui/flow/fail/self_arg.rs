use prefect::prelude::*;

struct Pipeline;

impl Pipeline {
    #[flow]
    fn run(self) {}
}

fn main() {}
