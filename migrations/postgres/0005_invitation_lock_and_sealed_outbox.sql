-- An invitation counts wrong passwords given with it; after five it is withdrawn (see
-- service::invitations). Sent e-mails no longer keep their link: links are sealed until they
-- are sent, and rows written before that lose their bodies' live links here.
ALTER TABLE invitations ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;

UPDATE email_outbox SET link = NULL, text_body = '(removed: it carried a one-time link)',
       html_body = '(removed: it carried a one-time link)'
 WHERE status = 'sent' AND link IS NOT NULL;

CREATE INDEX email_outbox_sent_at ON email_outbox (sent_at) WHERE status = 'sent';
