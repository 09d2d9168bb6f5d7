//! The Leptos pages as one process serves them.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use leptos::prelude::LeptosOptions;

use crate::helpers::{spawn, PASSWORD};

/// Building an app lists its page routes by rendering the app with resource loads switched off
/// process-wide (leptos_router's `generate_route_list`). A page rendering in the same process at
/// that moment must not be caught by it: the tests build an app per test, in parallel, and one
/// page in a few hundred used to wait for ever.
#[tokio::test]
async fn pages_render_while_other_apps_are_built_in_the_same_process() {
    let app = spawn().await;
    app.sign_up("Acme").await;
    let form = [("email", "admin@acme.test"), ("password", PASSWORD)];
    app.client.post(app.url("/fn/log-in")).header("accept", "text/html").form(&form).send().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let builder = std::thread::spawn({
        let (services, stop) = (app.services.clone(), Arc::clone(&stop));
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut built = 0;
            while !stop.load(Ordering::Relaxed) {
                let options = LeptosOptions::builder().output_name("tenantry").site_root("target/site").build();
                // Built and dropped: building is what raced the pages being rendered.
                drop(runtime.block_on(tenantry_server::http::build(services.clone(), options)).expect("build app"));
                built += 1;
            }
            built
        }
    });
    for _ in 0..100 {
        let page = tokio::time::timeout(Duration::from_secs(10), async {
            app.client.get(app.url("/audit")).header("accept", "text/html").send().await.unwrap().text().await.unwrap()
        })
        .await;
        let Ok(page) = page else {
            stop.store(true, Ordering::Relaxed);
            panic!("the audit page stalled while another app was being built");
        };
        assert!(page.contains("tenant_created"), "{page}");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0, "no app was built meanwhile");
}
