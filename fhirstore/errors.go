package fhirstore

import (
	"errors"
	"fmt"
)

// Code classifies a store error. The server maps each code to one HTTP status in one place;
// the store itself knows nothing about HTTP.
type Code string

const (
	ENotFound      Code = "not-found"     // no such resource, version or type (404)
	EGone          Code = "deleted"       // the resource was deleted (410)
	EInvalid       Code = "invalid"       // the request or resource is malformed (400)
	EUnprocessable Code = "processing"    // well-formed but cannot be applied, e.g. a failed patch test (422)
	EConflict      Code = "conflict"      // the write collides with the current state (409)
	EPrecondition  Code = "precondition"  // If-Match failed or a conditional matched several (412)
	ENotSupported  Code = "not-supported" // a valid request fhirbox does not implement (400/405)
	ETooCostly     Code = "too-costly"    // a cap was hit (_count, include fan-out, chain depth)
	EForbidden     Code = "forbidden"     // the access filter refuses the interaction (403)
	EInternal      Code = "exception"     // anything else: logged, shown as "internal error"
)

// Issue is one problem with a request, pointing at the element it concerns.
type Issue struct {
	Severity string // error, warning, information
	Code     string // a FHIR IssueType code
	Path     string // FHIRPath-style location, e.g. Patient.birthDate
	Message  string
}

// Error is the single error type the store returns for anything a client caused or may see.
type Error struct {
	Code    Code
	Message string
	Issues  []Issue
	Err     error // the underlying cause, for the log only
	// Denial, when set, says why the access filter refused the request, for the decision
	// log; the client sees only Message (a hidden resource reads as "not known").
	Denial string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
