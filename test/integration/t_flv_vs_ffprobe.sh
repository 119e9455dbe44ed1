#!/bin/sh
# Compares libstream's view of FLV files ($BUILD/tools/flvinfo: FLV reader + codec
# inspection + SPS parsing) with ffprobe's, for the committed fixture and for files made
# here by ffmpeg (testsrc + sine, H.264 + AAC, GOP 30): tag/packet counts, keyframes,
# codec names, coded picture size, AAC sample rate.
#
# ffprobe's packets exclude sequence headers (and empty NALU tags such as ffmpeg's
# end-of-sequence tag), so they are compared with flvinfo's video_frames/audio_frames,
# not with the raw tag counts.
# Exit 0 when every file agrees; non-zero with a message naming the field otherwise.
set -u
BUILD=${BUILD:-build}
flvinfo="$BUILD/tools/flvinfo"
fixture=test/fixtures/ffmpeg_h264_aac.flv

fail() {
    echo "t_flv_vs_ffprobe: $*" >&2
    exit 1
}

[ -x "$flvinfo" ] || fail "$flvinfo not built (run 'make tools')"
command -v ffprobe >/dev/null 2>&1 || fail "ffprobe not found"
command -v ffmpeg >/dev/null 2>&1 || fail "ffmpeg not found"

work=$(mktemp -d) || fail "mktemp failed"
trap 'rm -rf "$work"' EXIT INT TERM

# field NAME LINE: the value of NAME=value in a space-separated key=value line.
field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# check FILE: runs both tools on FILE and compares; prints one summary line.
check() {
    file=$1
    info=$("$flvinfo" "$file") || fail "$file: flvinfo failed"
    ffprobe -v error -show_entries packet=codec_type,flags -of csv=p=0 "$file" \
        >"$work/packets" || fail "$file: ffprobe -show_packets failed"
    ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,sample_rate \
        -of default=nw=1 "$file" >"$work/streams" || fail "$file: ffprobe -show_streams failed"

    p_video=$(grep -c '^video' "$work/packets")
    p_video_key=$(grep -c '^video,K' "$work/packets")
    p_audio=$(grep -c '^audio' "$work/packets")
    # Stream entries come in blocks; pick values by the block's codec_type.
    s_vcodec=$(awk -F= '/^codec_name=/{n=$2} /^codec_type=video/{print n; exit}' "$work/streams")
    s_acodec=$(awk -F= '/^codec_name=/{n=$2} /^codec_type=audio/{print n; exit}' "$work/streams")
    s_width=$(sed -n 's/^width=//p' "$work/streams" | head -n 1)
    s_height=$(sed -n 's/^height=//p' "$work/streams" | head -n 1)
    s_rate=$(sed -n 's/^sample_rate=//p' "$work/streams" | head -n 1)

    [ "$p_video" -gt 0 ] || fail "$file: ffprobe saw no video packets"
    for pair in "video_frames:$p_video" "video_keyframes:$p_video_key" \
                "audio_frames:$p_audio" "video_codec:$s_vcodec" "audio_codec:$s_acodec" \
                "width:$s_width" "height:$s_height" "audio_rate:$s_rate"; do
        name=${pair%%:*}
        want=${pair#*:}
        got=$(field "$name" "$info")
        [ "$got" = "$want" ] || fail "$file: $name: flvinfo says '$got', ffprobe says '$want'"
    done
    # Every coded tag is a packet; each stream has exactly one sequence header here.
    [ "$(field video_seq_headers "$info")" = 1 ] || fail "$file: expected 1 AVC sequence header"
    [ "$(field audio_seq_headers "$info")" = 1 ] || fail "$file: expected 1 AAC sequence header"
    [ "$(field prev_size_mismatches "$info")" = 0 ] || fail "$file: PreviousTagSize mismatches"
    echo "  $file: ${s_width}x${s_height} $s_vcodec/$s_acodec, $p_video video ($p_video_key key), $p_audio audio packets: agree"
}

make_flv() { # OUT SIZE PIXFMT
    ffmpeg -hide_banner -loglevel error -nostdin \
        -f lavfi -i "testsrc=size=$2:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t 3 -c:v libx264 -preset veryfast -g 30 -pix_fmt "$3" -c:a aac -b:a 64k \
        -f flv -y "$1" || fail "ffmpeg could not make $1"
}

check "$fixture"
make_flv "$work/fresh_176x144.flv" 176x144 yuv420p
check "$work/fresh_176x144.flv"
# Not a multiple of 16 (SPS frame cropping) and 4:2:2 (High 4:2:2 profile SPS fields).
make_flv "$work/fresh_98x58_422.flv" 98x58 yuv422p
check "$work/fresh_98x58_422.flv"
exit 0
