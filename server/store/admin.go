package store

// adminSchema holds admin accounts, sessions and published revisions.
const adminSchema = ``
