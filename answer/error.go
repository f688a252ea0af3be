package answer

import (
	"context"
	"errors"
	"strings"

	"acceso/rules"
)

// Error codes: what went wrong with a request, in the words every surface
// shares. The API sends them as error.code; the site and the admin area
// choose their page by them; the command line prints them.
const (
	// CodeInvalidJSON is a body that is not JSON, or not strict JSON
	// (a duplicate key, invalid UTF-8, a lone surrogate).
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidFacts is a well-formed body whose fields are wrong: a
	// fact of the wrong type or out of range, an unknown field or value.
	CodeInvalidFacts = "invalid_facts"
	// CodeBadRequest is any other request that cannot be read, such as a
	// page's query naming an answer the question does not take.
	CodeBadRequest = "bad_request"
	// CodeTooLarge is a body over the limit.
	CodeTooLarge = "too_large"
	// CodeUnsupportedMediaType is a body that is not application/json.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeNotFound is a route or a record that does not exist.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed is a route that does not answer the method.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeForbidden is a request refused as not made from this site.
	CodeForbidden = "forbidden"
	// CodeUnauthorized is a request that needs a signed-in admin.
	CodeUnauthorized = "unauthorized"
	// CodeTooManyRequests is a client over its rate limit.
	CodeTooManyRequests = "too_many_requests"
	// CodeEvaluationFailed is a rule that failed, or ran past its deadline
	// (then Error.Temporary is set).
	CodeEvaluationFailed = "evaluation_failed"
	// CodeOverloaded is a server too busy to evaluate now.
	CodeOverloaded = "overloaded"
	// CodeUnavailable is the storage out of reach or out of space for a
	// moment (Error.Temporary is set): the same request may work later.
	CodeUnavailable = "unavailable"
	// CodeInternal is anything else: a defect, logged and never detailed.
	CodeInternal = "internal"
)

// Error is a request that could not be answered: its code, a message fit
// to show whoever sent the request, and, for bad input, every field at
// fault. Temporary says that the same request may succeed later (a
// deadline, an overload); anything else will fail the same way again.
type Error struct {
	Code      string
	Message   string
	Details   []FieldError
	Temporary bool
	// Field names the one field at fault in a page's query or form, for
	// pages that show it to a visitor.
	Field string
	err   error
}

// FieldError names a field of a request by its path and says what is wrong
// with it.
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if len(e.Details) > 0 {
		parts := make([]string, len(e.Details))
		for i, d := range e.Details {
			parts[i] = d.Field + ": " + d.Problem
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

// Unwrap returns the error underneath, if any.
func (e *Error) Unwrap() error { return e.err }

// Errorf returns an *Error with code and message.
func Errorf(code, message string) *Error { return &Error{Code: code, Message: message} }

// Invalid is a request with fields at fault.
func Invalid(details ...FieldError) *Error {
	return &Error{Code: CodeInvalidFacts, Message: "the request has invalid fields", Details: details}
}

// BadField is a page's query or form value that cannot be read.
func BadField(field string) *Error {
	return &Error{Code: CodeBadRequest, Message: "invalid value for " + field, Field: field}
}

// Internal wraps a defect: its text is logged, never shown.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", err: err}
}

// Unavailable wraps an error of the storage being out of reach for now:
// the request may be tried again; err is logged, never shown.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Temporary: true, err: err,
		Message: "the storage cannot be reached for now; try again in a moment"}
}

// As returns err as an *Error: itself when it is one, the evaluation
// failures of the rules as evaluation_failed, and anything else as an
// internal error that keeps err for the log.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if errors.Is(err, rules.ErrEvaluation) {
		if errors.Is(err, context.DeadlineExceeded) {
			return &Error{Code: CodeEvaluationFailed, Temporary: true, err: err,
				Message: "the rules could not be evaluated in time; try again"}
		}
		return &Error{Code: CodeEvaluationFailed, err: err,
			Message: "the rules could not decide this request; the same request will fail again, so report it with its body"}
	}
	return Internal(err)
}
