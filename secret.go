package hashtrail

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// secretWords are the words that make a name secret (SecretName), each
// also in the plural (keys, tokens, passwords), with the run-together forms
// of "key" (the word "key" is never matched as a suffix: monkey, turkey,
// hotkey).
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "passcode": true, "pwd": true, "pass": true,
	"secret": true, "token": true, "key": true, "credential": true, "cookie": true,
	"bearer": true, "pin": true, "otp": true, "salt": true, "signature": true,
	"apikey": true, "privatekey": true, "secretkey": true, "accesskey": true, "sshkey": true,
	"signingkey": true, "masterkey": true, "encryptionkey": true, "privkey": true,
}

// secretSuffixes make a run-together word secret: authtoken, accesstoken,
// clientsecret, dbpassword, pgpassword, awscredentials.
var secretSuffixes = []string{"password", "passwd", "passphrase", "secret", "token", "credential"}

// publicWords make a name not secret wherever they stand: public_key,
// publishable_key.
var publicWords = map[string]bool{"public": true, "publishable": true}

// metaWords, as the last word of a name, say that it is about a secret
// rather than the secret itself: key_id, token_type, password_changed_at,
// token_expires_at, api_key_prefix, ssh_key_path.
var metaWords = map[string]bool{
	"id": true, "ids": true, "uuid": true, "name": true, "names": true, "type": true, "kind": true,
	"hint": true, "prefix": true, "suffix": true, "count": true, "length": true, "len": true,
	"at": true, "time": true, "date": true, "expiry": true, "expires": true, "expiration": true,
	"ttl": true, "version": true, "url": true, "uri": true, "algorithm": true, "alg": true,
	"policy": true, "enabled": true, "required": true, "set": true, "present": true,
	"rotated": true, "changed": true, "updated": true, "created": true, "scope": true,
	"scopes": true, "format": true, "label": true, "fingerprint": true, "status": true,
	"file": true, "path": true, "dir": true,
}

// notSecretNames are whole names, matched exactly (case and all), that the
// words would call secret: the shell's working directories.
var notSecretNames = map[string]bool{"PWD": true, "OLDPWD": true}

// SecretName reports whether a field, flag, header or environment variable
// named name holds a secret, so that its value must never be recorded. It
// is the one rule of the project: client.Diff redacts fields by it and
// `hashtrail run` redacts arguments, headers and environment variables by
// it. It is pure and safe for concurrent use.
//
// The name is split into lowercase words at every character that is neither
// a letter nor a digit (_ - . spaces), between letters and digits, at a
// change from lower to upper case, and before the last capital of an
// acronym followed by lower case: "apiKey", "api_key", "API-KEY" and
// "APIKey" are all api + key, "oauth2Token" is oauth + 2 + token, while
// "tokenIDs" is token + ids. The name is secret when
//
//   - a word, or the word without a plural s, is password, passwd,
//     passphrase, passcode, pwd, pass, secret, token, key, credential,
//     cookie, bearer, pin, otp, salt or signature, or a run-together key
//     such as apikey, privatekey, privkey, secretkey, accesskey or sshkey,
//     or ends in password, passwd, passphrase, secret, token or credential
//     (authtoken, clientsecret, dbpassword); and
//   - no word is public or publishable (public_key), and the last word
//     (digits aside) does not describe the secret rather than hold it: id,
//     name, type, hint, prefix, count, length, at, time, expires, url,
//     version, fingerprint, status, path, file... (key_id, token_type,
//     password_hint, password_changed_at, ssh_key_path).
//
// Words are whole, so keyboard, monkey, turkey, keyword, tokenizer,
// secretary, passport and spinner are not secret. PWD and OLDPWD, the
// shell's working directories, are not secret either (pwd and MYSQL_PWD
// are). The rule errs towards secrecy: sort_key and password_hash are
// secret.
func SecretName(name string) bool {
	if notSecretNames[name] {
		return false
	}
	var buf [8]string
	words := appendWords(buf[:0], name)
	last := len(words) - 1
	for last >= 0 && isNumber(words[last]) {
		last--
	}
	if last < 0 || metaWords[words[last]] {
		return false
	}
	found := false
	for _, w := range words {
		if publicWords[w] {
			return false
		}
		found = found || secretWord(w)
	}
	return found
}

// secretWord reports whether one lowercase word holds a secret.
func secretWord(w string) bool {
	for _, form := range []string{w, strings.TrimSuffix(w, "s")} {
		if secretWords[form] {
			return true
		}
		for _, s := range secretSuffixes {
			if len(form) > len(s) && strings.HasSuffix(form, s) {
				return true
			}
		}
	}
	return false
}

func isNumber(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
}

// appendWords appends the lowercase words of name to words (see
// SecretName).
func appendWords(words []string, name string) []string {
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(name[start:end]))
		}
		start = -1
	}
	var prev rune
	for i, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush(i)
		case start < 0:
			start = i
		case unicode.IsDigit(r) != unicode.IsDigit(prev),
			unicode.IsUpper(r) && unicode.IsLower(prev),
			unicode.IsUpper(r) && unicode.IsUpper(prev) && startsLowerWord(name[i+utf8.RuneLen(r):]):
			flush(i)
			start = i
		}
		prev = r
	}
	flush(len(name))
	return words
}

// startsLowerWord reports whether rest, what follows a capital inside an
// acronym, starts with lower case that is more than a plural s: in APIKey
// the K starts a word, in IDs the s belongs to the acronym.
func startsLowerWord(rest string) bool {
	r, n := utf8.DecodeRuneInString(rest)
	if !unicode.IsLower(r) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(rest[n:])
	return r != 's' || unicode.IsLower(next)
}
