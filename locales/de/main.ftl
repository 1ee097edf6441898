# Portcullis-Anmeldeseiten, Deutsch (vollständig; was hier fehlt, käme aus dem Englischen).

## Seitenrahmen (templates/base.html)
site-secured-by = Geschützt durch Portcullis
continue-to = weiter zu
divider-or = oder
field-email = E-Mail
field-password = Passwort
sign-in = Anmelden

## Anmeldung (templates/login.html, src/http/browser/login.rs)
login-title = Anmelden
login-send-new-link = Neuen Link senden
login-forgot = Passwort vergessen?
login-passkey = Mit einem Passkey anmelden
login-continue-with = Weiter mit { $provider }
login-new-here = Neu hier?
login-create-account = Konto erstellen
login-error-missing = Geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.
login-error-wrong = E-Mail-Adresse oder Passwort ist falsch.
login-error-unverified = Bestätigen Sie zuerst Ihre E-Mail-Adresse: Folgen Sie dem Link, den wir Ihnen geschickt haben.
login-error-locked = Zu viele fehlgeschlagene Anmeldungen. Versuchen Sie es in { $minutes ->
    [one] { $minutes } Minute
   *[other] { $minutes } Minuten
} erneut.
login-signed-in-title = Sie sind angemeldet
login-signed-in-message = Sie sind angemeldet als { $email }. Anwendungen, die diesen Server nutzen, können Sie jetzt anmelden, ohne nach Ihrem Passwort zu fragen.

## Registrierung (templates/register.html)
register-title = Konto erstellen
register-name = Name
register-optional = (optional)
register-rule-met = (erfüllt)
register-rule-not-met = (nicht erfüllt)
register-submit = Konto erstellen
register-have-account = Sie haben schon ein Konto?
register-confirm-title = Bestätigen Sie Ihre E-Mail-Adresse
register-confirm-message = Ihr Konto ist bereit. Wir haben einen Link an { $email } geschickt: Folgen Sie ihm, um Ihre Adresse zu bestätigen, und melden Sie sich dann an.
register-error-details = Prüfen Sie Ihre Angaben: { $why }.
register-error-weak = Wählen Sie ein Passwort, das jede Regel unten erfüllt.
register-error-taken = Ein Konto mit dieser E-Mail-Adresse gibt es schon. Melden Sie sich stattdessen an.
register-error-throttled = Zu viele neue Konten aus Ihrem Netzwerk. Versuchen Sie es in { $minutes ->
    [one] { $minutes } Minute
   *[other] { $minutes } Minuten
} erneut.
password-rule-min_length = Mindestens { $min } Zeichen
password-rule-max_length = Höchstens { $max } Zeichen
password-rule-uppercase = Mindestens ein Großbuchstabe
password-rule-lowercase = Mindestens ein Kleinbuchstabe
password-rule-digit = Mindestens eine Ziffer
password-rule-not_email = Nicht Ihre E-Mail-Adresse
password-rule-no_control_characters = Keine Steuer- oder Bidi-Steuerzeichen

## Einwilligung (templates/consent.html)
consent-title = Zugriff erlauben?
consent-wants-access = möchte auf Ihr Konto zugreifen
consent-signed-in-as = Angemeldet als
consent-self-registered = <strong>Diese Anwendung hat sich selbst registriert: Portcullis hat sie nicht geprüft.</strong> Ihr Name ist ihre eigene Angabe. Nach Ihrer Entscheidung werden Sie zu <strong>{ $target }</strong> weitergeleitet: Erlauben Sie nur, wenn Sie ihr vertrauen.
consent-document = <strong>Ungeprüfte Anwendung.</strong> Portcullis hat sie nicht geprüft: Name und Angaben stammen von <strong>{ $host }</strong> selbst. Nach Ihrer Entscheidung werden Sie weitergeleitet zu:
consent-document-trust = Erlauben Sie nur, wenn Sie ihr vertrauen.
consent-loopback = <strong>Die Antwort geht an ein Programm auf diesem Computer ({ $redirect }).</strong> Jedes hier laufende Programm könnte sie empfangen. Erlauben Sie nur, wenn Sie diese Anmeldung gerade in einer App auf diesem Gerät begonnen haben.
consent-sign-in-only = { $client } erfährt nur, dass Sie sich angemeldet haben.
consent-will-allow = { $client } erhält damit die Erlaubnis:
consent-resources-one = Der Zugriff gilt nur für diesen Dienst:
consent-resources-many = Der Zugriff gilt nur für diese Dienste:
consent-deny = Ablehnen
consent-allow = Erlauben
consent-remembered = Ihre Entscheidung wird für diese Anwendung gespeichert.

## Berechtigungen (src/http/browser/consent.rs `describe`)
scope-openid = Sie anmelden und wissen, wer Sie sind
scope-profile = Ihren Namen sehen
scope-email = Ihre E-Mail-Adresse sehen und ob sie bestätigt ist
scope-offline_access = Mit Ihrem Konto verbunden bleiben, während Sie nicht da sind
scope-account = Ihr Konto verwalten: Sitzungen, Passwort und API-Schlüssel
scope-api_keys = API-Schlüssel erstellen, die in Ihrem Namen handeln
scope-read = Daten in Ihrem Namen lesen
scope-write = Daten in Ihrem Namen erstellen und ändern
scope-delete = Daten in Ihrem Namen löschen
scope-manage_users = Benutzer verwalten
scope-manage_content = Inhalte verwalten
scope-chat = In Ihrem Namen chatten
scope-save_progress = Ihren Fortschritt speichern
scope-on-resource = { $resource }: { $action }
scope-action-read = Lesen
scope-action-write = Ändern
scope-action-delete = Löschen
scope-action-admin = Verwalten
scope-other = Die Berechtigung „{ $scope }“ nutzen

## Zweiter Faktor (templates/mfa.html, src/http/browser/mfa.rs)
mfa-title = Bestätigung in zwei Schritten
mfa-set-up = Bestätigung in zwei Schritten einrichten
mfa-signing-in-as = Anmeldung als
mfa-scan = Scannen Sie diesen Code mit einer Authenticator-App (oder geben Sie den Schlüssel unten ein) und geben Sie dann den sechsstelligen Code ein, den sie anzeigt.
mfa-key = Schlüssel:
mfa-code-from-app = Code aus Ihrer App
mfa-code-or-recovery = Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode
mfa-recovery-code = Ein Wiederherstellungscode
mfa-turn-on = Einschalten und fortfahren
mfa-verify = Bestätigen
mfa-use-passkey = Einen Passkey verwenden
mfa-passkey-unsupported = Dieser Browser kann keine Passkeys verwenden. Melden Sie sich in einem Browser an, der es kann, oder bitten Sie Ihre Administration um Hilfe.
mfa-cancel = Als andere Person anmelden
mfa-reason-client = { $client } verlangt eine Bestätigung in zwei Schritten.
mfa-reason-request = { $client } hat eine Bestätigung in zwei Schritten angefordert.
mfa-reason-account = Ihr Konto verlangt eine Bestätigung in zwei Schritten.
mfa-error-missing = Geben Sie den Code ein.
mfa-error-wrong = Dieser Code stimmt nicht. Versuchen Sie es erneut.
mfa-error-replayed = Dieser Code wurde schon verwendet. Warten Sie auf den nächsten und geben Sie ihn ein.
mfa-error-locked = Zu viele falsche Codes. Versuchen Sie es in { $minutes ->
    [one] { $minutes } Minute
   *[other] { $minutes } Minuten
} erneut.
mfa-error-no-passkey = Ihr Browser hat keinen Passkey gesendet. Versuchen Sie es erneut.

## Abmeldung (templates/logout.html, templates/message.html)
logout-title = Abmelden?
logout-signed-in-as = Sie sind angemeldet als <span class="identity">{ $email }</span>.
logout-asked-by = <strong>{ $client }</strong> möchte Sie abmelden.
logout-stay = Angemeldet bleiben
logout-sign-out = Abmelden
logout-stayed-title = Sie sind weiterhin angemeldet
logout-stayed-message = Nichts wurde geändert. Sie können diese Seite schließen.
logout-done-title = Sie haben sich abgemeldet
logout-done-message = Sie sind von diesem Server abgemeldet. Sie können diese Seite schließen.

## Fehlerseiten (src/http/error/page.rs und allgemeine Fehler der Seiten)
error-bad-request = Diese Anfrage kann nicht abgeschlossen werden
error-csrf-title = Dieses Formular ist abgelaufen
error-csrf-message = Das Formular wurde nicht von dieser Website gesendet oder ist zu alt. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable-message = Der Dienst kann das gerade nicht erledigen. Bitte versuchen Sie es in ein paar Sekunden erneut.
error-internal-title = Etwas ist schiefgelaufen
error-internal-message = Der Server konnte die Anfrage nicht abschließen. Bitte versuchen Sie es gleich noch einmal.
error-busy-title = Der Server ist ausgelastet
error-busy-message = Gerade werden zu viele Anmeldungen verarbeitet. Bitte versuchen Sie es gleich noch einmal.
error-method-title = Methode nicht erlaubt
error-method-message = Diese Seite akzeptiert nur GET und POST.
error-too-many-title = Zu viele Anfragen
error-pending-gone = Diese Anmeldeanfrage ist abgelaufen oder wurde schon abgeschlossen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
error-pending-other-browser = Diese Anmeldeanfrage wurde in einem anderen Browser begonnen. Kehren Sie zur Anwendung zurück und beginnen Sie hier erneut.
error-pending-completed = Diese Anmeldeanfrage wurde schon abgeschlossen. Kehren Sie zur Anwendung zurück.
error-mfa-expired = Diese Anmeldung ist abgelaufen oder wurde schon abgeschlossen. Melden Sie sich erneut an.
error-consent-needs-request = Die Einwilligungsseite braucht eine Anmeldeanfrage.

## Passwort zurücksetzen und neue Bestätigungslinks (templates/email_request.html, templates/reset.html)
back-to-sign-in = Zurück zur Anmeldung
email-request-error-missing = Geben Sie die E-Mail-Adresse Ihres Kontos ein.
forgot-title = Passwort zurücksetzen
forgot-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein, und wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen.
forgot-submit = Link zum Zurücksetzen senden
forgot-sent-title = Sehen Sie in Ihr Postfach
forgot-sent-message = Falls ein Konto { $email } verwendet, haben wir einen Link dorthin gesendet, mit dem Sie ein neues Passwort wählen. Der Link funktioniert einmal, innerhalb von { $minutes } Minuten.
resend-title = Bestätigen Sie Ihre E-Mail-Adresse
resend-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein, und wir senden Ihnen einen neuen Link zur Bestätigung.
resend-submit = Neuen Link senden
resend-sent-message = Falls { $email } zu einem Konto gehört, das noch bestätigt werden muss, haben wir einen neuen Link dorthin gesendet. Der Link funktioniert einmal, innerhalb von { $hours } Stunden.
reset-title = Neues Passwort wählen
reset-for = für
reset-new-password = Neues Passwort
reset-submit = Neues Passwort speichern
reset-everywhere = Alle Geräte, die bei Ihrem Konto angemeldet sind, werden abgemeldet.
reset-done-title = Ihr Passwort wurde geändert
reset-done-message = Alle Geräte, die bei Ihrem Konto angemeldet waren, wurden abgemeldet. Melden Sie sich mit Ihrem neuen Passwort an.

## Anmeldung eines Geräts (templates/device.html, src/http/browser/device.rs)
device-title = Gerät verbinden
device-signed-in-as = Angemeldet als
device-wants-access = möchte auf Ihr Konto zugreifen
device-self-registered = <strong>Diese Anwendung hat sich selbst registriert: Portcullis hat sie nicht geprüft.</strong> Ihr Name ist ihre eigene Angabe. Bestätigen Sie nur, wenn Sie diese Anmeldung selbst begonnen haben, auf einem Gerät, das vor Ihnen liegt.
device-check-code = Fahren Sie nur fort, wenn Ihr Gerät diesen Code zeigt:
device-enter-code = Geben Sie den Code ein, den Ihr Gerät zeigt
device-continue = Weiter
device-approve = Bestätigen
device-error-code = Dieser Code ist nicht gültig: Er ist vielleicht vertippt, abgelaufen oder schon verwendet. Prüfen Sie den Code auf Ihrem Gerät und versuchen Sie es erneut.

## Ein Konto eines Anbieters verknüpfen (templates/link.html, src/http/browser/federation.rs)
link-title = Konto verknüpfen
link-heading = <strong>{ $provider }</strong> mit Ihrem Konto verknüpfen
link-intro = Es gibt bereits ein Konto mit <span class="identity">{ $email }</span>. Geben Sie einmal sein Passwort ein, um sich von nun an mit { $provider } anzumelden.
link-password-for = Passwort für { $email }
link-submit = Verknüpfen und anmelden
link-or-confirm = oder bestätigen mit
link-cancel = Abbrechen
link-error-wrong = Dieses Passwort passt nicht zu diesem Konto.
link-error-throttled = Zu viele fehlgeschlagene Versuche aus Ihrem Netzwerk. Versuchen Sie es später erneut.
