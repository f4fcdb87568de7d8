--[[
  Raises the fencing counter to a holder's token while the holder's key is
  still on this master (see lock-quorum.ts for why the token needs this).

  KEYS[1] lock key         {prefix}:lock:<resource>
  KEYS[2] fencing counter  {prefix}:lock-fence
  ARGV[1] the holder's lock value
  ARGV[2] the holder's fencing token

  Output: 1 when the counter is now >= the token and the key was the holder's, else 0
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local token = tonumber(ARGV[2])
if (tonumber(redis.call('GET', KEYS[2])) or 0) < token then
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
