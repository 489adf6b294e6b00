//! What the benchmarks (`src/bin/bench-*.rs`) share: how a figure is judged against its goal.

/// Prints `figure` as `value` against `reference`, their ratio, and whether the ratio meets
/// `goal` (at most that many times the reference); returns the ratio.
pub fn goal(figure: &str, value: f64, reference: f64, goal: f64) -> f64 {
    let ratio = value / reference;
    println!(
        "goal: {figure}: {value:.1} against {reference:.1} = {ratio:.2} x, goal <= {goal:.2} x: {}",
        verdict(ratio, goal)
    );
    ratio
}

/// "met", or by how much the goal was missed.
pub fn verdict(ratio: f64, goal: f64) -> String {
    if ratio <= goal {
        "met".to_owned()
    } else {
        format!("missed by {:.0} %", (ratio / goal - 1.0) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_at_or_under_the_goal_is_met_and_over_it_says_by_how_much() {
        assert_eq!(verdict(1.2, 1.2), "met");
        assert_eq!(verdict(1.0, 1.2), "met");
        assert_eq!(verdict(1.5, 1.2), "missed by 25 %");
    }
}
