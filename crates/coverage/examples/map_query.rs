//! How many tests of a coverage map ran each key given: `map_query MAP KEY...`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((map, keys)) = args.split_first() else {
        eprintln!("usage: map_query MAP KEY...");
        std::process::exit(2);
    };
    let map =
        hourglass_coverage::CoverageMap::read(std::path::Path::new(map)).unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2)
        });
    for key in keys {
        println!("{key}\t{}\t{}", map.has_key(key), map.ran_count(key));
    }
}
