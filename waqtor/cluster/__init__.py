"""Several gateway instances on one PostgreSQL database and one Redis.

Each session is run by exactly one instance at a time, the holder of its lease (`session_leases`,
through `leases.LeaseKeeper`): its engine, its send queue and whatever else acts for the session run
there. Any instance accepts commands for any session and carries them to the owner over a
`channel.CommandChannel`; reads (state, QR) come from the database, which the owner keeps current.
Leases are spread fairly (`share`); an instance that dies stops renewing its leases and the others
take its sessions over once they expire. With one instance (SQLite, the default) it simply owns every
session.
"""
