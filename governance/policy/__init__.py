"""Runtime policy for partner calls: which API version a call is for, and whether it may have it.

See governance.policy.middleware for the order of the checks and why it is a middleware.
"""
