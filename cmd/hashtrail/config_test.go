package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// loadTestConfig parses args as serve's flags and loads the Config with env
// as the environment.
func loadTestConfig(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	b := bindConfig(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return b.load(func(k string) string { return env[k] })
}

// writeConfigFile writes a YAML file into a temporary directory.
func writeConfigFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hashtrail.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadTestConfig(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cfg, defaultConfig()) {
		t.Errorf("got %+v, want the defaults %+v", *cfg, defaultConfig())
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.Data != "./hashtrail-data" || cfg.NoAutoTenants || cfg.Demo {
		t.Errorf("unexpected defaults %+v", *cfg)
	}
	if p, _ := cfg.storePath(); p != filepath.Join("hashtrail-data", "hashtrail.db") {
		t.Errorf("default store file %q", p)
	}
}

// TestConfigPrecedence checks flag over environment over file over default,
// setting by setting.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfigFile(t, `
addr: 127.0.0.1:1001
data: /from/file
log-level: warn
log-format: json
trusted-proxies: [10.0.0.0/8, 192.168.1.1]
max-queued-events: 10
shutdown-timeout: 5s
demo: true
`)
	env := map[string]string{
		"HASHTRAIL_CONFIG":          file,
		"HASHTRAIL_ADDR":            "127.0.0.1:1002",
		"HASHTRAIL_DATA":            "/from/env",
		"HASHTRAIL_LOG_LEVEL":       "error",
		"HASHTRAIL_TRUSTED_PROXIES": "172.16.0.0/12, 10.1.0.0/16",
		"HASHTRAIL_NO_AUTO_TENANTS": "true",
	}
	cfg, err := loadTestConfig(t, []string{"--addr", "127.0.0.1:1003", "--demo=false"}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.Addr = "127.0.0.1:1003"                                   // flag over env and file
	want.Demo = false                                              // flag over file
	want.Data = "/from/env"                                        // env over file
	want.LogLevel = "error"                                        // env over file
	want.TrustedProxies = []string{"172.16.0.0/12", "10.1.0.0/16"} // env over file
	want.NoAutoTenants = true                                      // env over default
	want.LogFormat = "json"                                        // file over default
	want.MaxQueuedEvents = 10                                      // file over default
	want.ShutdownTimeout = 5 * time.Second                         // file over default
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got  %+v\nwant %+v", *cfg, want)
	}
	p, _ := cfg.trustedPrefixes()
	if len(p) != 2 || p[0].String() != "172.16.0.0/12" {
		t.Errorf("trusted prefixes %v", p)
	}

	// --config wins over HASHTRAIL_CONFIG; a flag not given leaves the rest alone.
	other := writeConfigFile(t, "addr: 127.0.0.1:2001\n")
	cfg, err = loadTestConfig(t, []string{"--config", other}, map[string]string{"HASHTRAIL_CONFIG": file})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:2001" || cfg.Data != defaultDataDir || cfg.Demo {
		t.Errorf("--config over HASHTRAIL_CONFIG: got %+v", *cfg)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	file := writeConfigFile(t, "addr: 127.0.0.1:1\nlisten: :80\ntls_cert: x.pem\n")
	_, err := loadTestConfig(t, nil, map[string]string{"HASHTRAIL_CONFIG": file})
	if err == nil || !strings.Contains(err.Error(), "listen, tls_cert") || !strings.Contains(err.Error(), file) {
		t.Fatalf("want an error naming the unknown keys and the file, got %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		file string
		want []string
	}{
		{"bad values", []string{"--addr", "nope", "--log-level", "loud", "--log-format", "xml", "--max-queued-events", "0"}, nil, "",
			[]string{"addr:", "log-level:", "log-format:", "max-queued-events:"}},
		{"tls half", []string{"--tls-cert", "c.pem"}, nil, "", []string{"tls-key must be given together"}},
		{"bad postgres url", []string{"--store", "postgres://[::1/x"}, nil, "", []string{"store:", "PostgreSQL URL"}},
		{"pg limits", []string{"--pg-max-conns", "0", "--pg-statement-timeout", "0s"}, nil, "", []string{"pg-max-conns:", "pg-statement-timeout:"}},
		{"unknown scheme", []string{"--store", "mysql://x"}, nil, "", []string{"store:"}},
		{"bad proxy", nil, map[string]string{"HASHTRAIL_TRUSTED_PROXIES": "10.0.0.0/33"}, "", []string{"trusted-proxies:"}},
		{"bad env bool", nil, map[string]string{"HASHTRAIL_DEMO": "maybe"}, "", []string{"HASHTRAIL_DEMO"}},
		{"bad env int", nil, map[string]string{"HASHTRAIL_MAX_QUEUED_EVENTS": "lots"}, "", []string{"HASHTRAIL_MAX_QUEUED_EVENTS"}},
		{"bad yaml type", nil, nil, "max-queued-events: lots\n", []string{"config file", "lots"}},
		{"yaml not a mapping", nil, nil, "- addr\n", []string{"YAML mapping"}},
		{"missing file", []string{"--config", "/does/not/exist.yaml"}, nil, "", []string{"config file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if tc.file != "" {
				env = map[string]string{"HASHTRAIL_CONFIG": writeConfigFile(t, tc.file)}
			}
			_, err := loadTestConfig(t, tc.args, env)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestStorePath(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:///var/lib/hashtrail/h.db": "/var/lib/hashtrail/h.db",
		"sqlite://rel/h.db":                "rel/h.db",
		"sqlite:h.db":                      "h.db",
	} {
		c := defaultConfig()
		c.Store = in
		if got, err := c.storePath(); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestConfigDocs checks that docs/configuration.md names every setting's
// flag, environment variable and YAML key.
func TestConfigDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		for _, w := range []string{"`--" + s.name + "`", "`" + envName(s.name) + "`", "`" + s.name + ":`"} {
			if !strings.Contains(string(doc), w) {
				t.Errorf("docs/configuration.md does not mention %s", w)
			}
		}
	}
}
