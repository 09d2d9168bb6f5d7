use std::{sync::Arc, time::{Duration, Instant}};

use chrono::Utc;

use super::{servers::{free_port, SmtpServer}, smtp_config};
use crate::{
    mail::{deliver_due, deliver_due_at, worker, Mailer, Pass, WorkerOptions},
    service::{InviteInput, Raw, RequestMeta, Services, SignUpInput},
    store::{Db, OutboxEmail},
    testing,
};

/// Invites each address into a new tenant through the service layer, which enqueues the
/// invitation mail in the invitation's own transaction and wakes the mailer.
async fn invite(services: &Services, recipients: &[String]) {
    let meta = RequestMeta { ip: None, user_agent: Some("mail tests".into()) };
    let admin_email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
    let signup = SignUpInput {
        name: Raw::text(format!("Acme {}", uuid::Uuid::new_v4().simple())),
        admin_email: Raw::text(admin_email),
        admin_password: Raw::text("correct horse battery"),
        first_name: Raw::text("Ada"),
        last_name: Raw::Missing,
    };
    let outcome = services.sign_up(signup, &meta).await.expect("sign up");
    let admin = services.actor_for(outcome.admin.id, Some(outcome.tenant.id)).await.unwrap().expect("admin actor");
    for to in recipients {
        services.invite(&admin, None, InviteInput { email: Raw::text(to.as_str()), role: Raw::Missing }, &meta).await.expect("invite");
    }
}

/// The invitation mails in the outbox (sign-up may enqueue others).
async fn outbox(db: &Db) -> Vec<OutboxEmail> {
    db.read().await.unwrap().outbox().await.unwrap().into_iter().filter(|e| e.kind == "invitation").collect()
}

#[tokio::test]
async fn invitations_made_while_the_provider_is_down_are_kept_and_delivered_exactly_once_when_it_returns() {
    let services = testing::services().await;
    let db = services.db();
    let port = free_port();
    let mailer = Mailer::from_config(&smtp_config(port)).await.unwrap();
    let options = WorkerOptions::for_services(&services);
    let recipients: Vec<String> = (0..3).map(|i| format!("invitee{i}@example.com")).collect();
    let before = Utc::now();
    invite(&services, &recipients).await;

    // The provider is down: every attempt fails and is recorded; nothing is lost.
    let pass = deliver_due(db, &mailer, &options).await.unwrap();
    assert_eq!(pass, Pass { claimed: 3, sent: 0, failed: 3 });
    let rows = outbox(db).await;
    assert_eq!(rows.len(), 3);
    for row in &rows {
        // A copy of the database yields no working link: the stored message has none in clear.
        for stored in [&row.text_body, &row.html_body, row.link.as_deref().unwrap_or("")] {
            assert!(!stored.contains("token="), "live link stored in clear: {stored}");
        }
        let opened = row.open(services.sealer()).expect("the sealed link opens with the server's key");
        assert!(opened.link.as_deref().is_some_and(|l| l.contains("/invite?token=")) && opened.text_body.contains("/invite?token="));
        assert_eq!((row.status.as_str(), row.attempts), ("pending", 1), "{row:?}");
        let error = row.last_error.as_deref().expect("the error is recorded");
        assert!(error.starts_with("SMTP"), "{error}");
        assert!(!error.contains("tok_"), "no link in the stored error: {error}");
        assert!(row.provider_message_id.is_none());
        assert!(row.next_attempt_at >= before + chrono::Duration::seconds(3), "backoff: {} vs {before}", row.next_attempt_at);
    }
    // Backoff holds: an immediate second pass claims nothing.
    assert_eq!(deliver_due(db, &mailer, &options).await.unwrap(), Pass::default());

    // The provider comes back; once the retry is due, every message goes out once.
    let server = SmtpServer::start_on(port);
    let later = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(deliver_due_at(db, &mailer, &options, later).await.unwrap(), Pass { claimed: 3, sent: 3, failed: 0 });
    assert_eq!(deliver_due_at(db, &mailer, &options, later + chrono::Duration::days(1)).await.unwrap(), Pass::default(), "sent rows are never claimed again");

    let received = server.received();
    let mut to: Vec<&str> = received.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, recipients.iter().map(String::as_str).collect::<Vec<_>>(), "each message exactly once");
    let rows = outbox(db).await;
    for row in &rows {
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 2), "{row:?}");
        assert!(row.last_error.is_none() && row.sent_at.is_some());
        let id = row.provider_message_id.as_deref().expect("provider id recorded");
        let mail = received.iter().find(|m| m.message_id == id).expect("the recorded id is the received Message-ID");
        assert_eq!(mail.to, row.to_address);
        assert!(mail.text.as_deref().is_some_and(|t| t.contains("/invite?token=")), "the delivered mail has its link back");
        assert!(row.link.is_none(), "the sealed link is erased once sent");
    }
}

#[tokio::test]
async fn the_worker_delivers_an_invitation_within_a_second_of_its_commit() {
    let services = testing::services().await;
    let server = SmtpServer::start();
    let mailer = Arc::new(Mailer::from_config(&smtp_config(server.port)).await.unwrap());
    // The poll would take an hour: only the wake-up can explain a prompt delivery.
    let options = WorkerOptions { poll_interval: Duration::from_secs(3600), ..WorkerOptions::for_services(&services) };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker::run(services.db().clone(), mailer, services.mail_wakeup(), options, async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The invitation's commit wakes the worker.
    invite(&services, &["first@example.com".to_owned()]).await;
    let committed = Instant::now();
    loop {
        if outbox(services.db()).await[0].status == "sent" {
            break;
        }
        assert!(committed.elapsed() < Duration::from_secs(1), "not delivered within a second of the commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.received().len(), 1);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("the worker stops on shutdown").unwrap();
}

#[tokio::test]
async fn sent_messages_are_deleted_after_the_retention_period_and_unsent_ones_never() {
    let services = testing::services().await;
    let db = services.db();
    let server = SmtpServer::start();
    let mailer = Mailer::from_config(&smtp_config(server.port)).await.unwrap();
    let options = WorkerOptions { retention: Duration::from_secs(86_400), ..WorkerOptions::for_services(&services) };
    invite(&services, &["kept@example.com".to_owned(), "sent@example.com".to_owned()]).await;
    // One is sent; the other is still pending (claimed by nobody because it is not yet due).
    let rows = outbox(db).await;
    let later = Utc::now() + chrono::Duration::hours(3);
    {
        let mut tx = db.write().await.unwrap();
        tx.mark_email_failed(rows[0].id, "held back by the test", later).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(deliver_due(db, &mailer, &options).await.unwrap().sent, 1);
    let now = Utc::now();
    assert_eq!(worker::purge_sent(db, &options, now).await.unwrap(), 0, "within the retention period");
    let after = now + chrono::Duration::days(2);
    assert_eq!(worker::purge_sent(db, &options, after).await.unwrap(), 1);
    let left = outbox(db).await;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].id, left[0].status.as_str()), (rows[0].id, "pending"), "an unsent message is never purged");
}
