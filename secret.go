package hashtrail

import (
	"strings"
	"unicode"
)

// secretWords are the words that make a name secret (SecretName).
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "pwd": true, "pass": true,
	"secret": true, "secrets": true, "token": true, "tokens": true, "key": true, "keys": true,
	"apikey": true, "credential": true, "credentials": true, "cookie": true, "privatekey": true,
	"signature": true, "salt": true, "otp": true, "pin": true, "sshkey": true, "accesskey": true,
	"secretkey": true, "signingkey": true, "masterkey": true, "encryptionkey": true,
}

// secretSuffixes make a run-together word secret: authtoken,
// clientsecret, dbpassword (not "key": monkey, hotkey).
var secretSuffixes = []string{"password", "passwd", "secret", "token"}

// notSecretLast are last words that name a secret without being one:
// key_id, token_type, secret_name, password_hint.
var notSecretLast = map[string]bool{
	"id": true, "ids": true, "name": true, "type": true, "hint": true, "length": true,
	"expiry": true, "expires": true, "count": true, "set": true, "changed": true, "at": true,
}

// SecretName reports whether a field, flag or variable name looks like it
// holds a secret, so its value must be redacted: a name with a word such as
// password, secret, token, key, credential or cookie (words split at _ - .
// spaces and camelCase; "apiKey", "DB_PASSWORD", "x-auth-token",
// "clientSecret"), unless its last word says it only names one ("key_id",
// "token_type"). It is the one rule the SDK's Diff and `hashtrail run` use.
func SecretName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	if len(words) > 1 && notSecretLast[words[len(words)-1]] {
		return false
	}
	for _, w := range words {
		if secretWords[w] {
			return true
		}
		for _, s := range secretSuffixes {
			if len(w) > len(s) && strings.HasSuffix(w, s) {
				return true
			}
		}
	}
	return false
}

// splitWords lowercases name and splits it into words at non-alphanumerics
// and lower-to-upper case changes.
func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush()
			cur = append(cur, unicode.ToLower(r))
		default:
			cur = append(cur, unicode.ToLower(r))
		}
		prev = r
	}
	flush()
	return words
}
