package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"fhirbox/fhirstore"
)

// errorKinds maps each store error code to its HTTP status and OperationOutcome issue code:
// the only place that does.
var errorKinds = map[fhirstore.Code]struct {
	status int
	issue  string
}{
	fhirstore.ENotFound:      {http.StatusNotFound, "not-found"},
	fhirstore.EGone:          {http.StatusGone, "not-found"},
	fhirstore.EInvalid:       {http.StatusBadRequest, "invalid"},
	fhirstore.EUnprocessable: {http.StatusUnprocessableEntity, "processing"},
	fhirstore.EConflict:      {http.StatusConflict, "conflict"},
	fhirstore.EPrecondition:  {http.StatusPreconditionFailed, "conflict"},
	fhirstore.ENotSupported:  {http.StatusBadRequest, "not-supported"},
	fhirstore.ETooCostly:     {http.StatusBadRequest, "too-costly"},
	fhirstore.EForbidden:     {http.StatusForbidden, "forbidden"},
}

func statusOf(code fhirstore.Code) int {
	if k, ok := errorKinds[code]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

func issueCode(code fhirstore.Code) string {
	if k, ok := errorKinds[code]; ok {
		return k.issue
	}
	return "exception"
}

// outcome builds the OperationOutcome (and status) for any error. Unknown errors become a
// generic "internal error" for the client; the detail goes to the operator's log.
func (s *Server) outcome(ctx context.Context, err error) (int, map[string]any) {
	var e *fhirstore.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			e = &fhirstore.Error{Code: fhirstore.ETooCostly, Message: "the request was cancelled or took too long"}
		} else {
			s.log.ErrorContext(ctx, "internal error", slog.Any("err", err), slog.String("request_id", requestID(ctx)))
			e = &fhirstore.Error{Code: fhirstore.EInternal, Message: "internal error (request " + requestID(ctx) + ")"}
		}
	}
	status := statusOf(e.Code)
	var issues []any
	if len(e.Issues) == 0 || e.Message != "" {
		issues = append(issues, map[string]any{
			"severity":    "error",
			"code":        issueCode(e.Code),
			"diagnostics": e.Message,
		})
	}
	for _, is := range e.Issues {
		sev := is.Severity
		if sev == "" {
			sev = "error"
		}
		code := is.Code
		if code == "" {
			code = issueCode(e.Code)
		}
		item := map[string]any{"severity": sev, "code": code, "diagnostics": is.Message}
		if is.Path != "" {
			item["expression"] = []any{is.Path}
		}
		issues = append(issues, item)
	}
	return status, operationOutcome(issues...)
}

func operationOutcome(issues ...any) map[string]any {
	return map[string]any{"resourceType": "OperationOutcome", "issue": issues}
}

func infoOutcome(msg string) map[string]any {
	return operationOutcome(map[string]any{"severity": "information", "code": "informational", "diagnostics": msg})
}

// writeError is the one error funnel of the FHIR API.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, oo := s.outcome(r.Context(), err)
	var e *fhirstore.Error
	if errors.As(err, &e) {
		noteReason(r.Context(), e.Message, e.Denial)
	}
	if status == http.StatusForbidden {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhirbox", error="insufficient_scope"`)
	}
	s.writeJSON(w, r, status, oo)
}

// fail is shorthand for writeError with a fresh store error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code fhirstore.Code, format string, args ...any) {
	s.writeError(w, r, fhirstore.Errorf(code, format, args...))
}
