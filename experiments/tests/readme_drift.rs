//! README's account of what moves while the net is at chance is the committed `DRIFT.md`
//! reports': their table rows appear verbatim, and every number the text quotes is
//! computed here from them (and from `drift.csv`, per layer), formatted as README writes
//! it. The runs behind `results/stall-exit` and `results/stall-held` are the
//! reproduction's and the stall grid's, row for row.

mod common;

use common::readme::{layer_rows, turn, LayerRow, Readme};
use std::collections::HashMap;
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A table of `DRIFT.md`: its row lines, and each row's cells by column name.
struct Table {
    lines: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

impl Table {
    /// The rows of `run` (its name without backquotes), in order.
    fn of(&self, run: &str) -> Vec<&HashMap<String, String>> {
        let name = format!("`{run}`");
        self.rows.iter().filter(|r| r["run"] == name).collect()
    }
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

/// The two tables of a `DRIFT.md`, in order.
fn tables(path: &str) -> [Table; 2] {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    let mut out: Vec<(Vec<String>, Table)> = vec![];
    for line in text.lines() {
        if line.starts_with("| run |") {
            let t = Table {
                lines: vec![],
                rows: vec![],
            };
            out.push((cells(line), t));
        } else if line.starts_with("| `") {
            let (header, t) = out.last_mut().unwrap();
            t.rows
                .push(header.iter().cloned().zip(cells(line)).collect());
            t.lines.push(line.to_string());
        }
    }
    let tables: Vec<Table> = out.into_iter().map(|(_, t)| t).collect();
    tables
        .try_into()
        .unwrap_or_else(|t: Vec<Table>| panic!("{path}: {} tables, not two", t.len()))
}

fn num(r: &HashMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k}: {}", r[k]))
}

/// The low and high ends of a `lo–hi` range cell.
fn ends(r: &HashMap<String, String>, k: &str) -> (f64, f64) {
    let (lo, hi) = r[k].split_once('–').unwrap();
    (lo.parse().unwrap(), hi.parse().unwrap())
}

/// A multiple as README writes it: `3.9e4` from 1000 up, `43` from 10, `1.09` below.
fn short(v: f64) -> String {
    match v {
        v if v >= 1000.0 => format!("{v:.1e}"),
        v if v >= 10.0 => format!("{v:.0}"),
        v => format!("{v:.2}"),
    }
}

/// An angle in degrees, as DRIFT.md writes it.
fn angle(degrees: f64) -> String {
    format!("{degrees:.2}")
}

fn percent(over: f64) -> String {
    format!("{:.2}%", (over - 1.0) * 100.0)
}

/// What README says of one seed of `results/stall-exit`.
struct Seed {
    norm: f64,
    beyond: String,
    grad: String,
    angle_before: f64,
    biases_first: String,
    weights_first: String,
    weights_exit: String,
    all_but_exit: String,
    one_layer: f64,
    angle_exit: f64,
}

fn seed(norms: &Table, mixed: &Table, s: usize) -> Seed {
    let run = format!("d30-xavier-relu-s{s}");
    let rows = norms.of(&run);
    let left: usize = rows[0]["left chance"].parse().unwrap();
    let before: Vec<_> = rows
        .iter()
        .filter(|r| num(r, "iteration") < left as f64)
        .collect();
    let last = before.last().unwrap();
    let m = mixed.of(&run);
    let (first, exit) = (m[0], m[m.len() - 1]);
    let at_exit = rows
        .iter()
        .find(|r| r["iteration"] == exit["iteration"])
        .unwrap();
    let fold = |f: fn(f64, f64) -> f64, it: &mut dyn Iterator<Item = f64>| it.reduce(f).unwrap();
    Seed {
        norm: fold(
            f64::max,
            &mut before.iter().map(|r| ends(r, "norm over decay").1),
        ),
        beyond: format!(
            "{:.3}",
            fold(f64::max, &mut before.iter().map(|r| num(r, "beyond decay")))
        ),
        grad: short(num(last, "gradient factor")),
        angle_before: fold(f64::max, &mut before.iter().map(|r| ends(r, "turn").1)),
        biases_first: short(num(first, "biases / decay")),
        weights_first: short(num(first, "weights / decay")),
        weights_exit: short(num(exit, "weights / decay")),
        all_but_exit: short(num(exit, "all but one")),
        one_layer: fold(f64::max, &mut m.iter().map(|r| num(r, "one layer"))),
        angle_exit: ends(at_exit, "turn").1,
    }
}

#[test]
fn readme_drift_account_is_the_committed_reports() {
    let readme = Readme::read();
    let has = |s: &str| readme.has(s);

    let [norms, mixed] = tables("results/stall-exit/DRIFT.md");
    for l in &mixed.lines {
        readme.has_row(l);
    }
    let (s0, s1) = (seed(&norms, &mixed, 0), seed(&norms, &mixed, 1));
    has(&format!(
        "no layer's norm is more than {} (seed 0) and {} (seed 1) above what decay alone left",
        percent(s0.norm),
        percent(s1.norm)
    ));
    has(&format!(
        "a factor of at most {} and {} on the first layer's gradient, against the {}-fold and {}-fold rises",
        s0.beyond, s1.beyond, s0.grad, s1.grad
    ));
    has(&format!(
        "the trained biases alone raise the gradient {}-fold (seed 0) and {}-fold (seed 1) over decay alone; the trained weights alone {}-fold and {}-fold",
        s0.biases_first, s1.biases_first, s0.weights_first, s1.weights_first
    ));
    has(&format!(
        "trained weights alone raise the gradient {}-fold (seed 0) and {}-fold (seed 1), while no layer has turned by more than {} degrees; before the exits, by at most {} (seed 0) and {} (seed 1) degrees",
        s0.weights_exit,
        s1.weights_exit,
        angle(s0.angle_exit.max(s1.angle_exit)),
        angle(s0.angle_before),
        angle(s1.angle_before)
    ));
    has(&format!(
        "raise the gradient at most {}-fold, and all the layers but any one still {}-fold (seed 0) and {}-fold (seed 1) past the exits",
        short(s0.one_layer.max(s1.one_layer)),
        s0.all_but_exit,
        s1.all_but_exit
    ));
    has(&format!(
        "never grow past decay alone by more than {} before an exit",
        percent(s0.norm.max(s1.norm))
    ));

    other_cells(&norms, &mixed, &has);

    let [long_norms, long_mixed] = tables("results/strongdecay-long/DRIFT.md");
    for l in long_norms.lines.iter().chain(&long_mixed.lines) {
        readme.has_row(l);
    }
    let held = long_norms.of("d30-xavier-relu-wd0.005-s1")[0];
    let left = long_norms.of("d30-xavier-relu-wd0.005-s0")[0];
    has(&format!(
        "ends with every layer at decay alone to within {} and no layer turned by more than {} degrees",
        percent(ends(held, "norm over decay").1),
        angle(ends(held, "turn").1)
    ));
    has(&format!(
        "the norms alone took the first layer's gradient down to {:.1e} of its start",
        num(held, "norms factor")
    ));
    has(&format!(
        "Seed 0 left chance at iteration {}: its trained weights raise the gradient {}-fold over decay alone, with turns of up to {} degrees",
        left["left chance"],
        short(num(long_mixed.of("d30-xavier-relu-wd0.005-s0")[0], "weights / decay")),
        angle(ends(left, "turn").1)
    ));
}

/// What README says of the learning-rate and input-scale cells in `results/stall-exit`.
fn other_cells(norms: &Table, mixed: &Table, has: &dyn Fn(&str)) {
    let lr = "d30-xavier-relu-lr0.01-s0";
    let (n, m) = (norms.of(lr), mixed.of(lr));
    let left: f64 = n[0]["left chance"].parse().unwrap();
    let before: Vec<_> = n.iter().filter(|r| num(r, "iteration") < left).collect();
    let most = |f: &dyn Fn(&HashMap<String, String>) -> f64| {
        before
            .iter()
            .map(|r| f(r))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let last = m[m.len() - 1];
    let last_turn = n
        .iter()
        .find(|r| r["iteration"] == last["iteration"])
        .unwrap();
    has(&format!(
        "The trained biases raise the gradient {}- and {}-fold at epochs 1 and 2 (the trained weights {}- and {}-fold), the norms stay within {} of decay alone and no layer turns more than {} degrees before the exit, and half an epoch past it the trained weights raise the gradient {}-fold, with turns of up to {} degrees",
        short(num(m[0], "biases / decay")),
        short(num(m[1], "biases / decay")),
        short(num(m[0], "weights / decay")),
        short(num(m[1], "weights / decay")),
        percent(most(&|r| ends(r, "norm over decay").1)),
        angle(most(&|r| ends(r, "turn").1)),
        short(num(last, "weights / decay")),
        angle(ends(last_turn, "turn").1),
    ));
    let caffe = "d30-xavier-relu-caffe-s0";
    let (n, m) = (norms.of(caffe)[0], mixed.of(caffe)[0]);
    let spec = mixed.of("d30-xavier-relu-s0")[0];
    has(&format!(
        "as drawn, the first layer's gradient is {:.0} times the normalised input's. That run left chance at iteration {}, and at iteration {} its first layer's gradient was {} of its start (`train.csv`), its layers turned by up to {} degrees",
        num(m, "as drawn") / num(spec, "as drawn"),
        n["left chance"],
        n["iteration"],
        short(num(n, "gradient factor")),
        angle(ends(n, "turn").1),
    ));
}

/// The runs of `results/stall-held` with the paper's fc head: Xavier's and MSRA's.
const PAPER_HEADS: (&str, &str) = ("d30-xavier-relu-paperhead-s0", "d30-msra-relu-paperhead-s0");

/// README's account of the cells that never left (`results/stall-held`).
#[test]
fn readme_held_account_is_the_committed_report() {
    let readme = Readme::read();
    let has = |s: &str| readme.has(s);
    let [norms, mixed] = tables("results/stall-held/DRIFT.md");
    let [exit_norms, exit_mixed] = tables("results/stall-exit/DRIFT.md");
    let (xh, mh) = PAPER_HEADS;
    let m0 = ["d30-xavier-relu-m0-s0", "d30-xavier-relu-m0-s1"];
    for run in [m0[0], m0[1], xh, mh] {
        let name = format!("| `{run}` |");
        let rows: Vec<_> = mixed
            .lines
            .iter()
            .filter(|l| l.starts_with(&name))
            .collect();
        for l in [rows[0], rows[rows.len() - 1]] {
            readme.has_row(l);
        }
    }
    let section = readme
        .lines
        .iter()
        .skip_while(|l| !l.starts_with("#### The cells that never left"))
        .skip(1)
        .take_while(|l| !l.starts_with("#"));
    let rows: Vec<&String> = section.filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        rows.len(),
        10,
        "README's table of the cells that never left"
    );
    for l in rows {
        assert!(
            mixed.lines.contains(l) || exit_mixed.lines.contains(l),
            "README's row is in no DRIFT.md: {l}"
        );
    }
    let at_decay = |run: &str| {
        norms.of(run).iter().all(|r| {
            let (lo, hi) = ends(r, "norm over decay");
            (lo - 1.0).abs() <= 1e-4 && (hi - 1.0).abs() <= 1e-4
        })
    };
    assert!(
        m0.iter().chain([&xh]).all(|r| at_decay(r)),
        "a norm off decay alone"
    );
    // Each seed of momentum 0 after 10 epochs, and the spec's same seed after one.
    let spec = |s: usize| exit_mixed.of(&format!("d30-xavier-relu-s{s}"))[0];
    let spec_turn = |s: usize| ends(exit_norms.of(&format!("d30-xavier-relu-s{s}"))[0], "turn").1;
    let last = |s: usize| *mixed.of(m0[s]).last().unwrap();
    let m0_turn = |s: usize| ends(norms.of(m0[s]).last().unwrap(), "turn").1;
    let pair = |f: &dyn Fn(usize) -> String| (f(0), f(1));
    let (b, sb) = (
        pair(&|s| short(num(last(s), "biases / decay"))),
        pair(&|s| short(num(spec(s), "biases / decay"))),
    );
    let (w, sw) = (
        pair(&|s| short(num(last(s), "weights / decay"))),
        pair(&|s| short(num(spec(s), "weights / decay"))),
    );
    let (t, st) = (pair(&|s| angle(m0_turn(s))), pair(&|s| angle(spec_turn(s))));
    has(&format!(
        "its trained biases raise the first layer's gradient {}- and {}-fold over decay alone (seeds 0 and 1; the spec's at epoch 1: {}- and {}-fold), its trained weights {}- and {}-fold ({} and {}), no layer has turned by more than {} and {} degrees ({} and {})",
        b.0, b.1, sb.0, sb.1, w.0, w.1, sw.0, sw.1, t.0, t.1, st.0, st.1
    ));
    let spec = spec(0);
    held_paper_heads(&norms, &mixed, spec, &has);
}

/// What README says of the two runs with the paper's fc head in `results/stall-held`.
fn held_paper_heads(
    norms: &Table,
    mixed: &Table,
    spec: &HashMap<String, String>,
    has: &dyn Fn(&str),
) {
    let (xh, mh) = PAPER_HEADS;
    let layers = layer_rows("stall-held");
    let last_of = |run: &str| -> Vec<&LayerRow> {
        let it = layers
            .iter()
            .filter(|r| r["run"] == run)
            .map(|r| r["iteration"].parse::<usize>().unwrap())
            .max()
            .unwrap();
        layers
            .iter()
            .filter(|r| r["run"] == run && r["iteration"] == it.to_string())
            .collect()
    };
    let fc3 = |rows: &[&LayerRow]| -> LayerRow {
        (*rows.iter().find(|r| r["name"] == "fc3.weight").unwrap()).clone()
    };
    let (x, xn) = (mixed.of(xh), norms.of(xh));
    let weights = x.iter().map(|r| num(r, "weights / decay"));
    has(&format!(
        "As drawn, the first layer's gradient is {:.0} times smaller than the spec's net's. In 10 epochs no layer, the head's included, turned by more than {} degrees",
        num(spec, "as drawn") / num(x[0], "as drawn"),
        angle(xn.iter().map(|r| ends(r, "turn").1).fold(0.0, f64::max)),
    ));
    has(&format!(
        "is {:.6} times decay alone's), the trained weights change the gradient by a factor between {} and {}, and the trained biases raise it {}-fold at epoch 1 and {}-fold at epoch 10 (the spec's net: {}-fold at epoch 1)",
        fc3(&last_of(xh))["over_decay"].parse::<f64>().unwrap(),
        short(weights.clone().fold(f64::INFINITY, f64::min)),
        short(weights.fold(0.0, f64::max)),
        short(num(x[0], "biases / decay")),
        short(num(x[x.len() - 1], "biases / decay")),
        short(num(spec, "biases / decay")),
    ));
    let at = last_of(mh);
    let top = fc3(&at);
    let alone: f64 = top["alone"].parse().unwrap();
    let most_alone = at
        .iter()
        .map(|r| r["alone"].parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(
        alone, most_alone,
        "fc3 is not the layer that does most alone"
    );
    let m = mixed.of(mh);
    let norm = format!("{:.2}", top["over_decay"].parse::<f64>().unwrap());
    has(&format!(
        "by epoch 2 its norm is {norm} times decay alone's and it has turned {} degrees, while no other layer has turned by more than {}. The trained weights raise the first layer's gradient {}-fold, `fc3`'s alone {}-fold and all the others together {}-fold; the trained biases {}-fold at most",
        angle(turn(&top)),
        angle(at.iter().filter(|r| r["name"] != "fc3.weight").map(|r| turn(r)).fold(0.0, f64::max)),
        short(num(m[m.len() - 1], "weights / decay")),
        short(alone),
        short(top["all_but"].parse().unwrap()),
        short(m.iter().map(|r| num(r, "biases / decay")).fold(0.0, f64::max)),
    ));
    has(&format!(
        "the norm is a factor of {norm} of `fc3`'s {}: the rest is its turn",
        short(alone)
    ));
    let stall = std::fs::read_to_string(repo().join("results/stall/STALL.md")).unwrap();
    let row = stall
        .lines()
        .find(|l| l.contains(&format!("`{mh}`")))
        .unwrap();
    has(&format!(
        "`STALL.md`'s growth: {} doublings per 100 iterations",
        cells(row)[6]
    ));
}

/// The runs of `results/stall-exit` and `results/stall-held` are the first rows of the
/// runs they were trained again from: the reproduction's (the spec's cell) and the stall
/// grid's.
#[test]
fn stall_exit_runs_are_the_committed_runs_row_for_row() {
    for (dir, run, from) in [
        ("stall-exit", "d30-xavier-relu-s0", "reproduction"),
        ("stall-exit", "d30-xavier-relu-s1", "reproduction"),
        ("stall-exit", "d30-xavier-relu-lr0.01-s0", "stall"),
        ("stall-exit", "d30-xavier-relu-caffe-s0", "stall"),
        ("stall-held", "d30-xavier-relu-m0-s0", "stall"),
        ("stall-held", "d30-xavier-relu-m0-s1", "stall"),
        ("stall-held", "d30-xavier-relu-paperhead-s0", "stall"),
        ("stall-held", "d30-msra-relu-paperhead-s0", "stall"),
    ] {
        let read = |dir: &str| {
            std::fs::read_to_string(
                repo()
                    .join("results")
                    .join(dir)
                    .join("runs")
                    .join(run)
                    .join("train.csv"),
            )
            .unwrap()
        };
        let (exit, full) = (read(dir), read(from));
        assert!(
            exit.lines().count() > 500 && full.starts_with(&exit),
            "{run}: the run to the exit is not {from}'s first rows"
        );
    }
}
