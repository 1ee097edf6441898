# Portcullis sign-in pages, English (the reference catalog: every message is here).
# Messages may hold markup (they are ours); arguments are escaped where they are placed.

## Page chrome (templates/base.html)
site-secured-by = Secured by Portcullis
continue-to = to continue to
divider-or = or
field-email = Email
field-password = Password
sign-in = Sign in

## Login (templates/login.html, src/http/browser/login.rs)
login-title = Sign in
login-send-new-link = Send a new link
login-forgot = Forgot password?
login-passkey = Sign in with a passkey
login-continue-with = Continue with { $provider }
login-new-here = New here?
login-create-account = Create an account
login-error-missing = Enter your email and password.
login-error-wrong = The email or password is incorrect.
login-error-unverified = Confirm your email address first: follow the link we sent to it.
login-error-locked = Too many failed sign-ins. Try again in { $minutes ->
    [one] { $minutes } minute.
   *[other] { $minutes } minutes.
}
login-signed-in-title = You're signed in
login-signed-in-message = You are signed in as { $email }. Applications that use this server can now sign you in without asking for your password.

## Registration (templates/register.html)
register-title = Create your account
register-name = Name
register-optional = (optional)
register-rule-met = (met)
register-rule-not-met = (not met)
register-submit = Create account
register-have-account = Already have an account?
register-confirm-title = Confirm your email address
register-confirm-message = Your account is ready. We've sent a link to { $email }: follow it to confirm your address, then sign in.
register-error-details = Check your details: { $why }.
register-error-weak = Choose a password that meets every rule below.
register-error-taken = An account with this email already exists. Sign in instead.
register-error-throttled = Too many new accounts from your network. Try again in { $minutes } minute(s).
password-rule-min_length = At least { $min } characters
password-rule-max_length = At most { $max } characters
password-rule-uppercase = At least one upper-case letter
password-rule-lowercase = At least one lower-case letter
password-rule-digit = At least one digit
password-rule-not_email = Must not be your email address
password-rule-no_control_characters = No control or bidi override characters

## Consent (templates/consent.html)
consent-title = Allow access?
consent-wants-access = wants to access your account
consent-signed-in-as = Signed in as
consent-self-registered = <strong>This application registered itself: Portcullis has not verified it.</strong> Its name is its own claim. After you choose, you are sent to <strong>{ $target }</strong>: allow only if you trust it.
consent-document = <strong>Unverified application.</strong> Portcullis has not verified it: its name and details are what <strong>{ $host }</strong> says about itself. After you choose, you are sent to:
consent-document-trust = Allow only if you trust it.
consent-loopback = <strong>The answer goes to a program on this computer ({ $redirect }).</strong> Any program running here could receive it. Allow only if you just started this sign-in from an app on this device.
consent-sign-in-only = { $client } will only learn that you signed in.
consent-will-allow = This will allow { $client } to:
consent-resources-one = The access is for this service only:
consent-resources-many = The access is for these services only:
consent-deny = Deny
consent-allow = Allow
consent-remembered = Your choice is remembered for this application.

## Scopes as a person reads them (src/http/browser/consent.rs `describe`)
scope-openid = Sign you in and know who you are
scope-profile = See your name
scope-email = See your email address and whether it is verified
scope-offline_access = Stay connected to your account while you are away
scope-account = Manage your account: sessions, password and API keys
scope-api_keys = Create API keys that act for you
scope-read = Read data on your behalf
scope-write = Create and change data on your behalf
scope-delete = Delete data on your behalf
scope-manage_users = Manage users
scope-manage_content = Manage content
scope-chat = Chat on your behalf
scope-save_progress = Save your progress
# `resource:action` scopes: the action, then the resource.
scope-on-resource = { $action } { $resource }
scope-action-read = Read
scope-action-write = Change
scope-action-delete = Delete
scope-action-admin = Administer
scope-other = Use the “{ $scope }” permission

## Second factor (templates/mfa.html, src/http/browser/mfa.rs)
mfa-title = Two-step verification
mfa-set-up = Set up two-step verification
mfa-signing-in-as = Signing in as
mfa-scan = Scan this code with an authenticator app (or type the key below), then enter the six-digit code it shows.
mfa-key = Key:
mfa-code-from-app = Code from your app
mfa-code-or-recovery = Code from your authenticator app, or a recovery code
mfa-recovery-code = A recovery code
mfa-turn-on = Turn on and continue
mfa-verify = Verify
mfa-use-passkey = Use a passkey
mfa-passkey-unsupported = This browser can't use passkeys. Sign in on a browser that can, or ask your administrator for help.
mfa-cancel = Sign in as someone else
mfa-reason-client = { $client } requires two-step verification.
mfa-reason-request = { $client } asked for two-step verification.
mfa-reason-account = Your account requires two-step verification.
mfa-error-missing = Enter the code.
mfa-error-wrong = That code is not right. Try again.
mfa-error-replayed = That code was already used. Wait for the next one and enter it.
mfa-error-locked = Too many wrong codes. Try again in { $minutes ->
    [one] { $minutes } minute.
   *[other] { $minutes } minutes.
}
mfa-error-no-passkey = Your browser did not send a passkey. Try again.

## Sign-out (templates/logout.html, templates/message.html)
logout-title = Sign out?
logout-signed-in-as = You are signed in as <span class="identity">{ $email }</span>.
logout-asked-by = <strong>{ $client }</strong> asked to sign you out.
logout-stay = Stay signed in
logout-sign-out = Sign out
logout-stayed-title = You're still signed in
logout-stayed-message = Nothing changed. You can close this page.
logout-done-title = You have signed out
logout-done-message = You are signed out of this server. You can close this page.

## Error pages (src/http/error/page.rs and the pages' generic failures)
error-bad-request = This request can't be completed
error-csrf-title = This form has expired
error-csrf-message = The form was not sent from this site, or it is too old. Go back, reload the page and try again.
error-unavailable-title = Temporarily unavailable
error-unavailable-message = The service can't complete this right now. Please try again in a few seconds.
error-internal-title = Something went wrong
error-internal-message = The server could not complete the request. Please try again in a moment.
error-busy-title = The server is busy
error-busy-message = Too many sign-ins are being processed right now. Please try again in a moment.
error-method-title = Method not allowed
error-method-message = This page accepts only GET and POST.
error-too-many-title = Too many requests
error-pending-gone = This sign-in request has expired or was already completed. Go back to the application and start again.
error-pending-other-browser = This sign-in request was started in another browser. Go back to the application and start again here.
error-pending-completed = This sign-in request was already completed. Go back to the application.
error-mfa-expired = This sign-in has expired or was already completed. Sign in again.
error-consent-needs-request = The consent page needs a sign-in request.

## Password reset and new verification links (templates/email_request.html, templates/reset.html,
## src/http/browser/password_reset.rs, src/http/browser/email_verification.rs)
back-to-sign-in = Back to sign in
email-request-error-missing = Enter the email address of your account.
forgot-title = Reset your password
forgot-intro = Enter the email address of your account, and we'll send you a link to choose a new password.
forgot-submit = Send reset link
forgot-sent-title = Check your email
forgot-sent-message = If an account uses { $email }, we've sent a link to it to choose a new password. The link works once, within { $minutes } minutes.
resend-title = Confirm your email address
resend-intro = Enter the email address of your account, and we'll send you a new link to confirm it.
resend-submit = Send a new link
resend-sent-message = If { $email } belongs to an account that still needs confirming, we've sent a new link to it. The link works once, within { $hours } hours.
reset-title = Choose a new password
reset-for = for
reset-new-password = New password
reset-submit = Set new password
reset-everywhere = Every device signed in to your account will be signed out.
reset-done-title = Your password has been changed
reset-done-message = Every device that was signed in to your account has been signed out. Sign in with your new password.

## Device sign-in (templates/device.html, src/http/browser/device.rs)
device-title = Connect a device
device-signed-in-as = Signed in as
device-wants-access = wants to access your account
device-self-registered = <strong>This application registered itself: Portcullis has not verified it.</strong> Its name is its own claim. Approve only if you started this sign-in yourself, on a device you have in front of you.
device-check-code = Continue only if your device shows this code:
device-enter-code = Enter the code shown on your device
device-continue = Continue
device-approve = Approve
device-error-code = That code is not valid: it may be mistyped, expired or already used. Check the code your device shows and try again.

## Linking an upstream account (templates/link.html, src/http/browser/federation.rs)
link-title = Link your account
link-heading = Link <strong>{ $provider }</strong> to your account
link-intro = An account with <span class="identity">{ $email }</span> already exists. Enter its password once to sign in with { $provider } from now on.
link-password-for = Password for { $email }
link-submit = Link and sign in
link-or-confirm = or confirm with
link-cancel = Cancel
link-error-wrong = That password is not right for this account.
link-error-throttled = Too many failed attempts from your network. Try again later.
