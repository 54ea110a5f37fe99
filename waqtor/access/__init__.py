"""Who may do what: scoped API keys, WebSocket tickets and the failed-authentication throttle.

`scopes` is pure (identities and the checks on them); `keys` keeps the key cache and its invalidation;
`tickets` issues and redeems single-use WebSocket tickets; `notices` tells other instances of a
revoked key; `throttle` slows down whoever keeps presenting wrong keys.
"""
