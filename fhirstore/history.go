package fhirstore

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// HistoryRequest selects versions for instance (Type and ID), type (Type) or system history.
type HistoryRequest struct {
	Type, ID string
	Since    time.Time // only versions at or after Since (_since)
	At       time.Time // only versions current at At (_at); zero = all
	Count    int       // page size; 0 returns only the total
	// Before continues a previous page: only versions written before this position.
	Before string
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Entries []*Resource
	Total   int
	// Next is the Before value for the following page, "" on the last page.
	Next string
}

// History lists versions newest first. ENotFound for instance history of an unknown id.
func (s *Store) History(ctx context.Context, req HistoryRequest) (*HistoryPage, error) {
	var where []string
	var args []any
	if req.Type != "" {
		if !knownType(req.Type) {
			return nil, Errorf(ENotFound, "unknown resource type %q", req.Type)
		}
		where, args = append(where, "type = ?"), append(args, req.Type)
	}
	if req.ID != "" {
		if err := checkTypeID(req.Type, req.ID); err != nil {
			return nil, err
		}
		where, args = append(where, "id = ?"), append(args, req.ID)
	}
	if !req.Since.IsZero() {
		where, args = append(where, "last_updated >= ?"), append(args, req.Since.UnixMicro())
	}
	if !req.At.IsZero() {
		// A version is current at At if written at or before At and not superseded by then.
		where = append(where, `last_updated <= ? AND NOT EXISTS (SELECT 1 FROM resource_history n
			WHERE n.type = resource_history.type AND n.id = resource_history.id AND n.version > resource_history.version AND n.last_updated <= ?)`)
		args = append(args, req.At.UnixMicro(), req.At.UnixMicro())
	}
	// Instance history needs read access to that resource; type and system history need
	// search access, and list only what the filter lets the caller see.
	if a := AccessFrom(ctx); a != nil {
		if req.ID != "" {
			var rid int64
			_ = s.r.QueryRowContext(ctx, `SELECT rid FROM resource_current WHERE type = ? AND id = ?`, req.Type, req.ID).Scan(&rid)
			if err := s.allow(ctx, s.rq, req.Type, req.ID, rid, Read); err != nil {
				return nil, err
			}
		} else {
			types := resourceTypeList()
			if req.Type != "" {
				types = []string{req.Type}
			}
			q := &query{s: s, ctx: ctx, access: a, strict: true}
			w := &whereClause{}
			if err := q.typeFilter(w, types, Search); err != nil {
				return nil, err
			}
			where = append(where, "rid IN (SELECT r.rid FROM resource_current r WHERE "+w.sql()+")")
			args = append(args, w.args...)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	page := &HistoryPage{}
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM resource_history"+cond, args...).Scan(&page.Total); err != nil {
		return nil, err
	}
	if req.ID != "" && page.Total == 0 && req.Since.IsZero() && req.At.IsZero() {
		return nil, Errorf(ENotFound, "%s/%s is not known", req.Type, req.ID)
	}
	if req.Before != "" {
		hid, err := strconv.ParseInt(req.Before, 10, 64)
		if err != nil {
			return nil, Errorf(EInvalid, "invalid history page token %q", req.Before)
		}
		where, args = append(where, "hid < ?"), append(args, hid)
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	count := req.Count
	if count <= 0 {
		return page, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT hid, type, id, version, last_updated, method, deleted, json
		FROM resource_history`+cond+` ORDER BY hid DESC LIMIT ?`, append(args, count+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lastHid int64
	for rows.Next() {
		r := &Resource{}
		var lu, hid int64
		if err := rows.Scan(&hid, &r.Type, &r.ID, &r.Version, &lu, &r.Method, &r.Deleted, &r.JSON); err != nil {
			return nil, err
		}
		if len(page.Entries) == count {
			page.Next = strconv.FormatInt(lastHid, 10)
			break
		}
		r.LastUpdated = time.UnixMicro(lu).UTC()
		page.Entries = append(page.Entries, r)
		lastHid = hid
	}
	return page, rows.Err()
}
