// Package schema is dingq's wire contract, shared by producers and workers: the three job kinds,
// the subject, stream, consumer and header names, the Go types of each job body, and the JSON
// Schema files that every job is validated against before any send.
//
// A job's body is the target DingTalk API's own JSON request body, so producers can follow
// DingTalk's documentation. The JSON Schema files are embedded and also exported (see [SchemaJSON])
// so that producers in other languages can validate with the same rules.
//
// This package imports nothing else of dingq.
package schema
