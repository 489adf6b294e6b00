//! WCAG 2.2 AA checks of the screen shown now, by axe-core (installed from tools/package.json),
//! outside an embedded call's Jitsi frame (`#call-frame`: Jitsi's own page, not ours).

use serde_json::Value;

use crate::App;

/// The violations found, and how many rules passed (so a check that checked nothing fails).
pub async fn wcag_violations(app: &App) -> (Vec<Value>, usize) {
    let axe = crate::paths::workspace_root().join("tools/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe)
        .unwrap_or_else(|error| panic!("{}: {error} (scripts/test installs it)", axe.display()));
    app.client()
        .execute(&axe, vec![])
        .await
        .expect("axe-core loads in the page");
    let found = app
        .client()
        .execute_async(
            r##"const done = arguments[arguments.length - 1];
            axe.run({ exclude: [["#call-frame"]] }, {
                runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
            }).then(
                (result) => done({
                    passes: result.passes.length,
                    violations: result.violations.map((v) => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map((n) => n.target.join(" ")),
                    })),
                }),
                (error) => done({ passes: 0, violations: [{ id: "axe-failed", help: String(error) }] }),
            );"##,
            vec![],
        )
        .await
        .expect("axe-core runs");
    let violations = found["violations"].as_array().cloned().unwrap_or_default();
    let passes = found["passes"].as_u64().unwrap_or_default();
    (violations, usize::try_from(passes).unwrap_or_default())
}

/// Fails the test with each WCAG 2.2 AA violation on the screen shown now.
pub async fn assert_accessible(app: &App, screen: &str) {
    let (violations, passes) = wcag_violations(app).await;
    assert!(
        passes > 0,
        "axe-core checked nothing on the {screen} screen"
    );
    assert!(
        violations.is_empty(),
        "WCAG 2.2 AA violations on the {screen} screen: {}",
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}
