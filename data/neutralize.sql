-- A neutralized copy must not act on the live store: forget the app secret, the tokens and any
-- pending authorization, and mark every store as not connected.
UPDATE aliexpress_config
   SET app_secret_encrypted = NULL,
       access_token_encrypted = NULL,
       refresh_token_encrypted = NULL,
       access_token_expires_at = NULL,
       refresh_token_expires_at = NULL,
       oauth_state_hash = NULL,
       oauth_state_user_id = NULL,
       oauth_state_expires_at = NULL,
       state = 'draft';
