SELECT count(*) AS failures,
       count(*) || ' sessions outside [{{ var('min_session_length') }}, {{ var('max_session_length') }}] items' AS detail
FROM {{ ref('session_sequences') }}
WHERE length < {{ var('min_session_length') }} OR length > {{ var('max_session_length') }} OR len(items) <> length
