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
//
// checkpoints gives the S3 archive each object's covering checkpoint (the
// store, when the registry delivers; nil when it only validates settings).
func sinkRegistry(checkpoints s3.Checkpoints) sink.Registry {
	return sink.Registry{
		file.Type:    file.Destination(),
		nats.Type:    nats.Destination(),
		s3.Type:      s3.Destination(checkpoints),
		syslog.Type:  syslog.Destination(),
		webhook.Type: webhook.Destination(),
		splunk.Type:  splunk.Destination(),
		datadog.Type: datadog.Destination(),
	}
}
