package hashtrail_test

import (
	"fmt"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestSecretName(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		// A secret word, however the name is written.
		{[]string{"password", "Password", "DB_PASSWORD", "passwd", "user.password", "user_pwd", "pwd", "MYSQL_PWD",
			"new_pass", "--password", "passphrase", "passcode", "password2", "password_hash"}, true},
		{[]string{"api_key", "apiKey", "APIKey", "API-KEY", "X-Api-Key", "apikey", "APIKEY", "accessKeys",
			"private_key", "privateKey", "privkey", "sshkey", "SSHKey", "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "sort_key"}, true},
		{[]string{"secret", "secretValue", "client_secret", "clientSecret", "JWTSecret", "secrets"}, true},
		{[]string{"token", "accessToken", "refresh_token", "GITHUB_TOKEN", "x-auth-token", "oauth2Token", "tokens"}, true},
		{[]string{"credentials", "session-cookie", "bearer", "pin", "otp"}, true},
		// Run-together words ending in a secret word.
		{[]string{"authtoken", "authtokens", "clientsecret", "dbpassword", "PGPASSWORD", "awscredentials"}, true},
		// Whole words only.
		{[]string{"", "name", "email", "path", "HOME", "PATH", "HTTPServer", "keyboard", "monkey", "monkey_business",
			"turkey", "keyword", "tokenizer", "secretary", "passport", "passenger", "author", "spinner", "passwordless"}, false},
		// Public keys.
		{[]string{"public_key", "publicKey", "publishable_key"}, false},
		// The last word only names or describes a secret.
		{[]string{"key_id", "api_key_id", "AWS_ACCESS_KEY_ID", "token_id", "tokenId", "tokenIDs", "apiKeyIDs",
			"token_id_2", "key_name", "secret_name", "token_type", "password_hint", "credential_id", "keys_count",
			"password_changed_at", "token_expires_at", "api_key_prefix", "ssh_key_path", "PASSWORD_STORE_DIR"}, false},
		// The shell's working directories.
		{[]string{"PWD", "OLDPWD"}, false},
	} {
		for _, n := range tc.names {
			if got := hashtrail.SecretName(n); got != tc.want {
				t.Errorf("SecretName(%q) = %v, want %v", n, got, tc.want)
			}
		}
	}
}

func ExampleSecretName() {
	for _, name := range []string{"api_key", "APIKey", "DB_PASSWORD", "secretValue", "authtoken",
		"keyboard", "monkey", "token_id", "public_key"} {
		fmt.Println(name, hashtrail.SecretName(name))
	}
	// Output:
	// api_key true
	// APIKey true
	// DB_PASSWORD true
	// secretValue true
	// authtoken true
	// keyboard false
	// monkey false
	// token_id false
	// public_key false
}

func BenchmarkSecretName(b *testing.B) {
	for b.Loop() {
		hashtrail.SecretName("AWS_SECRET_ACCESS_KEY")
		hashtrail.SecretName("updated_at")
	}
}
