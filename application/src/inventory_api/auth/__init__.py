"""Bearer-token authentication and role-based authorisation of the API.

Tokens are JWTs from one issuer (Entra ID in Azure), verified against the issuer's published
keys; app roles in the `roles` claim decide who may read and who may write.
"""
