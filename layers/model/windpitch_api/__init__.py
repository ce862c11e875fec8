"""windpitch's HTTP adapter: the Powertools REST resolver, routes and models shared by the API Lambdas.

Kept apart from the :mod:`windpitch` domain, which has no AWS or Lambda framework in it.
"""
