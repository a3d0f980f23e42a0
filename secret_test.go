package hashtrail_test

import (
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestSecretName(t *testing.T) {
	for _, n := range []string{"password", "Password", "DB_PASSWORD", "passwd", "user.password", "new_pass",
		"apiKey", "api_key", "API-KEY", "x-auth-token", "GITHUB_TOKEN", "clientSecret", "client_secret",
		"AWS_SECRET_ACCESS_KEY", "private_key", "session-cookie", "credentials", "authtoken", "sshkey",
		"--password", "pin", "otp"} {
		if !hashtrail.SecretName(n) {
			t.Errorf("SecretName(%q) = false", n)
		}
	}
	for _, n := range []string{"", "name", "email", "keyboard", "monkey_business", "key_id", "api_key_id",
		"token_type", "secret_name", "password_hint", "passport", "path", "tokenizer", "HOME", "PATH",
		"author", "passenger", "spinner", "credential_id", "keys_count"} {
		if hashtrail.SecretName(n) {
			t.Errorf("SecretName(%q) = true", n)
		}
	}
}
