//! Every task carries the hash of its source, whatever its options: the same tokens
//! give the same hash, and editing the body changes it.

use prefect::prelude::*;

mod a {
    use prefect::prelude::*;

    #[task]
    pub async fn double(x: u64) -> u64 {
        x * 2
    }
}

mod b {
    use prefect::prelude::*;

    /// Documented and laid out differently, but the same code.
    #[task(retries = 1)]
    pub async fn double(
        x: u64, // the input
    ) -> u64 {
        x*2
    }
}

mod c {
    use prefect::prelude::*;

    #[task]
    pub async fn double(x: u64) -> u64 {
        x * 3
    }
}

fn source_hash(task: &Task) -> String {
    let debug = format!("{:?}", task.options());
    let start = debug.find("source_hash: Some(\"").expect("a source hash") + "source_hash: Some(\"".len();
    debug[start..].split('"').next().unwrap().to_owned()
}

fn main() {
    let (a, b, c) = (source_hash(a::double::task()), source_hash(b::double::task()), source_hash(c::double::task()));
    assert_eq!(a.len(), 32);
    assert_eq!(a, b);
    assert_ne!(a, c);
}
