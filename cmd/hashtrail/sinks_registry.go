package main

import (
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/datadog"
	"github.com/hashtrail/hashtrail/sink/file"
	"github.com/hashtrail/hashtrail/sink/nats"
	"github.com/hashtrail/hashtrail/sink/s3"
	"github.com/hashtrail/hashtrail/sink/splunk"
	"github.com/hashtrail/hashtrail/sink/syslog"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

// sinkRegistry returns the sink destinations this binary offers, by type.
// It is the one place destinations are registered: a destination package
// exports Destination() sink.Destination (its factory, settings
// validation, secret settings and default batch size) and adds one line
// here, keyed by its type name.
func sinkRegistry() sink.Registry {
	return sink.Registry{
		file.Type: file.Destination(),
		nats.Type: nats.Destination(),
		// The S3 archive writes each object's covering checkpoint when it
		// is given a checkpoint source (the store); the registry has none
		// to give yet, so archives carry no .checkpoint sidecar.
		s3.Type:      s3.Destination(nil),
		syslog.Type:  syslog.Destination(),
		webhook.Type: webhook.Destination(),
		splunk.Type:  splunk.Destination(),
		datadog.Type: datadog.Destination(),
	}
}
