package main

import (
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/file"
)

// sinkRegistry returns the sink destinations this binary offers, by type.
// It is the one place destinations are registered: a destination package
// exports Destination() sink.Destination (its factory, settings
// validation, secret settings and default batch size) and adds one line
// here, keyed by its type name.
func sinkRegistry() sink.Registry {
	return sink.Registry{
		file.Type: file.Destination(),
	}
}
